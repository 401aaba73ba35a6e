package health

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroup: Set starts a name's checks, a second Set replaces them, and
// once Close returns no result is reported any more.
func TestGroup(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	var closed atomic.Bool
	reports := make(chan string, 100)
	target := func(name string) []Target {
		return []Target{{Name: name, Addr: addr, Report: func(ok bool) {
			if closed.Load() {
				t.Errorf("%s reported after Close", name)
			}
			if ok {
				select {
				case reports <- name:
				default:
				}
			}
		}}}
	}
	check := Check{Path: "/", Interval: time.Millisecond, Timeout: 10 * time.Second}
	var g Group
	g.Set("u", target("first"), check)
	if got := <-reports; got != "first" {
		t.Fatalf("got %q; want first", got)
	}
	g.Set("u", target("second"), check)
	for got := range reports {
		if got == "second" {
			break
		}
	}
	if names := g.Names(); len(names) != 1 || names[0] != "u" {
		t.Errorf("names %v; want [u]", names)
	}
	g.Set("v", nil, check)
	if names := g.Names(); len(names) != 1 {
		t.Errorf("names %v after an empty Set; want [u]", names)
	}
	g.Close()
	closed.Store(true)
}
