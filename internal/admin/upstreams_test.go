package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wsproxy/config"
	"wsproxy/core/metrics"
)

func TestApplyOp(t *testing.T) {
	list := []config.Server{{Addr: "a:1"}, {Addr: "b:1", Weight: 2}}
	tests := []struct {
		name    string
		op      Op
		want    string // fmt.Sprint of the addresses and weights, or the error
		wantErr bool
	}{
		{"add", Op{Action: OpAdd, Server: config.Server{Addr: "c:1", Weight: 3, MaxConns: 10}}, "[a:1/0 b:1/2 c:1/3]", false},
		{"add existing", Op{Action: OpAdd, Server: config.Server{Addr: "a:1"}}, "", true},
		{"add negative weight", Op{Action: OpAdd, Server: config.Server{Addr: "c:1", Weight: -1}}, "", true},
		{"remove", Op{Action: OpRemove, Server: config.Server{Addr: "a:1"}}, "[b:1/2]", false},
		{"remove unknown", Op{Action: OpRemove, Server: config.Server{Addr: "z:1"}}, "", true},
		{"weight", Op{Action: OpWeight, Server: config.Server{Addr: "a:1", Weight: 5}}, "[a:1/5 b:1/2]", false},
		{"weight zero", Op{Action: OpWeight, Server: config.Server{Addr: "a:1"}}, "", true},
		{"unknown action", Op{Action: "drop", Server: config.Server{Addr: "a:1"}}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyOp(list, tc.op)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v; want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var s []string
			for _, srv := range got {
				s = append(s, fmt.Sprintf("%s/%d", srv.Addr, srv.Weight))
			}
			if fmt.Sprint(s) != tc.want {
				t.Errorf("got %v; want %s", s, tc.want)
			}
		})
	}
	t.Run("last server", func(t *testing.T) {
		if _, err := ApplyOp(list[:1], Op{Action: OpRemove, Server: config.Server{Addr: "a:1"}}); err == nil {
			t.Error("removing the last server: nil error")
		}
	})
	if len(list) != 2 || list[0].Weight != 0 {
		t.Errorf("ApplyOp changed its input: %v", list)
	}
}

// fakeUpstreams records changes and lists what it has.
type fakeUpstreams struct {
	list []config.Server
	ops  []Op
}

func (f *fakeUpstreams) Servers(up string) ([]ServerInfo, error) {
	if up != "u" {
		return nil, fmt.Errorf("%w: %s", ErrNoUpstream, up)
	}
	var out []ServerInfo
	for _, s := range f.list {
		out = append(out, ServerInfo{Addr: s.Addr, Weight: s.Weight, Up: true, Tunnels: 7})
	}
	return out, nil
}

func (f *fakeUpstreams) Change(op Op) error {
	if op.Upstream != "u" {
		return fmt.Errorf("%w: %s", ErrNoUpstream, op.Upstream)
	}
	next, err := ApplyOp(f.list, op)
	if err != nil {
		return err
	}
	f.list, f.ops = next, append(f.ops, op)
	return nil
}

// TestUpstreamsAPI: the runtime API's endpoints reach Upstreams with the
// parsed parameters and answer with the right status and the note.
func TestUpstreamsAPI(t *testing.T) {
	f := &fakeUpstreams{list: []config.Server{{Addr: "a:1", Weight: 1}}}
	h := httptest.NewServer(Handler(Config{Metrics: func() metrics.Snapshot { return metrics.Snapshot{} }, Upstreams: f}))
	t.Cleanup(h.Close)
	do := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, h.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		method, path string
		status       int
		body         string // a substring of the answer
	}{
		{"GET", "/upstreams/u/servers", 200, `"tunnels":7`},
		{"GET", "/upstreams/nope/servers", 404, "no such upstream"},
		{"POST", "/upstreams/u/servers?addr=b:1&weight=3&max_conns=5", 200, RuntimeNote},
		{"POST", "/upstreams/u/servers?addr=b:1", 400, "already has"},
		{"POST", "/upstreams/u/servers", 400, "want ?addr="},
		{"POST", "/upstreams/u/servers?addr=c:1&weight=x", 400, "weight: want an integer"},
		{"PATCH", "/upstreams/u/servers/b:1?weight=4", 200, "weight done"},
		{"PATCH", "/upstreams/u/servers/b:1", 400, "want ?weight=N"},
		{"DELETE", "/upstreams/u/servers/a:1", 200, "remove done"},
		{"DELETE", "/upstreams/x/servers/a:1", 404, "no such upstream"},
		{"GET", "/upstreams/u/servers", 200, `"addr":"b:1","weight":4`},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, body := do(tc.method, tc.path)
			if code != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("got %d %q; want %d containing %q", code, body, tc.status, tc.body)
			}
		})
	}
	if len(f.ops) != 3 || f.ops[0].Server.MaxConns != 5 {
		t.Errorf("changes %+v; want add (max_conns 5), weight, remove", f.ops)
	}
}
