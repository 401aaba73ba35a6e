package floortest

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"wsproxy/internal/echo"
	"wsproxy/internal/testutil"
)

// TestFloorRelaysWebSockets: floor.c builds with the system's C compiler,
// and WebSockets through it (two processes, two backends) get their
// handshake and their messages across, so that measure.sh measures a
// proxy that works.
func TestFloorRelaysWebSockets(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build floor.c: apt-get install -y gcc")
	}
	bin := filepath.Join(t.TempDir(), "floor")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", bin, "../floor.c").CombinedOutput(); err != nil {
		t.Fatalf("cc ../floor.c: %v\n%s", err, out)
	}
	var backends []string
	for _, id := range []string{"a", "b"} {
		e, err := echo.New("127.0.0.1:0", id, 1, testutil.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		backends = append(backends, e.Addr().String())
	}
	p := testutil.StartLines(t, "floor", exec.Command(bin, append([]string{"127.0.0.1:0", "2"}, backends...)...))
	line, err := p.Next(time.Now().Add(10 * time.Second))
	if err != nil {
		t.Fatalf("floor did not say where it listens: %v\n%s", err, p.Out.String())
	}
	addr, ok := strings.CutPrefix(line, "listen ")
	if !ok {
		t.Fatalf("floor's first line %q; want listen ADDR", line)
	}

	ids := map[string]bool{}
	for i := range 4 { // round robin: both backends answer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var id string
		d := ws.Dialer{OnHeader: func(key, value []byte) error {
			if string(key) == "X-Echo-Id" {
				id = string(value)
			}
			return nil
		}}
		c, _, _, err := d.Dial(ctx, "ws://"+addr+"/")
		if err != nil {
			t.Fatalf("connection %d: handshake through floor: %v", i, err)
		}
		ids[id] = true
		msg := bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		if err := wsutil.WriteClientBinary(c, msg); err != nil {
			t.Fatal(err)
		}
		got, err := wsutil.ReadServerBinary(c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("connection %d: echo of %d bytes: got %d bytes, err %v", i, len(msg), len(got), err)
		}
		c.Close()
	}
	if !ids["a"] || !ids["b"] || len(ids) != 2 {
		t.Errorf("backends that answered: %v; want a and b", ids)
	}
}

// TestPingPong: pingpong.c's client gets its round trips from pingpong.c's
// C echo and from the echo on wsproxy's poller (../pingpong), the two
// sides measure.sh's wake mode compares.
func TestPingPong(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build pingpong.c: apt-get install -y gcc")
	}
	dir := t.TempDir()
	pp := filepath.Join(dir, "pingpong")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Werror", "-o", pp, "../pingpong.c").CombinedOutput(); err != nil {
		t.Fatalf("cc ../pingpong.c: %v\n%s", err, out)
	}
	goecho := filepath.Join(dir, "gopingpong")
	if out, err := exec.Command("go", "build", "-o", goecho, "../pingpong").CombinedOutput(); err != nil {
		t.Fatalf("go build ../pingpong: %v\n%s", err, out)
	}
	for _, echo := range []*exec.Cmd{exec.Command(pp, "serve", "127.0.0.1:0"), exec.Command(goecho, "127.0.0.1:0")} {
		p := testutil.StartLines(t, filepath.Base(echo.Path), echo)
		line, err := p.Next(time.Now().Add(10 * time.Second))
		addr, ok := strings.CutPrefix(line, "listen ")
		if err != nil || !ok {
			t.Fatalf("%s: first line %q, %v; want listen ADDR\n%s", echo.Path, line, err, p.Out.String())
		}
		out, err := exec.Command(pp, "client", addr, "50", "0").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "round trips 50 ") {
			t.Errorf("client against %s: %v\n%s", filepath.Base(echo.Path), err, out)
		}
		if err := p.WaitExit(t); err != nil {
			t.Errorf("%s after the client left: %v", filepath.Base(echo.Path), err)
		}
	}
}
