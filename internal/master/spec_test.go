package master

import (
	"bytes"
	"net"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/config"
	"wsproxy/internal/sock"
)

func TestSpecFileRoundTrip(t *testing.T) {
	want := Spec{Name: "a.yaml", Data: []byte("listen: []\n"), Listen: []string{"127.0.0.1:8080"}, Workers: 3,
		TicketSecret: []byte("0123456789abcdef0123456789abcdef")}
	f, err := want.file()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 2 { // pread: a second reader sees the same bytes
		got, err := readSpec(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read %d: got %+v; want %+v", i, got, want)
		}
	}
}

// TestSpecForReservesPort checks that a listener with port 0 gets a port
// the master holds, that workers can all bind it with SO_REUSEPORT, that a
// reload keeps it, and that it is released when no generation uses it.
func TestSpecForReservesPort(t *testing.T) {
	m, err := New(Config{Load: func() (Source, error) { return Source{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.closePorts()
	cfg := &config.Config{Workers: 2, Listen: []config.Listener{{Addr: "127.0.0.1:0"}, {Addr: "127.0.0.1:1"}}}
	sp, err := m.specFor(Source{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Workers != 2 || len(sp.Listen) != 2 || sp.Listen[1] != "127.0.0.1:1" {
		t.Fatalf("spec = %+v; want 2 workers, listen[1] unchanged", sp)
	}
	addr := sp.Listen[0]
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		t.Fatalf("listen[0] = %s; want a reserved port", addr)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded; a reservation must not accept connections", addr)
	}
	var fds []int
	for range 2 {
		fd, _, err := sock.Listen(addr, true)
		if err != nil {
			t.Fatalf("worker listen on the reserved %s: %v", addr, err)
		}
		fds = append(fds, fd)
	}
	m.next = &generation{spec: sp}
	again, err := m.specFor(Source{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if again.Listen[0] != addr {
		t.Errorf("reload: listen[0] = %s; want the same port %s", again.Listen[0], addr)
	}
	m.next = nil
	m.prunePorts()
	if len(m.ports) != 0 {
		t.Errorf("after prune: %d reservations; want 0", len(m.ports))
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	ln, err := net.Listen("tcp", addr) // free again: no SO_REUSEPORT needed
	if err != nil {
		t.Fatalf("listen %s after the reservation was released: %v", addr, err)
	}
	ln.Close()
}

// TestSpecTicketSecret: every generation of one master gets the same
// ticket secret, so that workers resume each other's TLS sessions across a
// reload; another master has another.
func TestSpecTicketSecret(t *testing.T) {
	load := Config{Load: func() (Source, error) { return Source{}, nil }}
	m, err := New(load)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(load)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Config: &config.Config{Workers: 1, Listen: []config.Listener{{Addr: "127.0.0.1:1"}}}}
	var secrets [][]byte
	for _, mm := range []*Master{m, m, other} {
		sp, err := mm.specFor(src)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, sp.TicketSecret)
	}
	if len(secrets[0]) != 32 || bytes.Count(secrets[0], []byte{0}) == 32 {
		t.Fatalf("TicketSecret = %x; want 32 random bytes", secrets[0])
	}
	if !bytes.Equal(secrets[0], secrets[1]) {
		t.Errorf("the next generation's secret %x differs from the first's %x; want the same", secrets[1], secrets[0])
	}
	if bytes.Equal(secrets[0], secrets[2]) {
		t.Errorf("two masters made the same secret %x; want each its own", secrets[0])
	}
}

func TestNextBackoff(t *testing.T) {
	for _, tc := range []struct {
		name        string
		prev, lived time.Duration
		want        time.Duration
	}{
		{"first restart", 0, time.Second, 100 * time.Millisecond},
		{"doubles", 100 * time.Millisecond, time.Second, 200 * time.Millisecond},
		{"doubles again", 3200 * time.Millisecond, time.Second, 6400 * time.Millisecond},
		{"capped", 6400 * time.Millisecond, time.Second, 10 * time.Second},
		{"stays capped", 10 * time.Second, time.Second, 10 * time.Second},
		{"reset after a long life", 10 * time.Second, 30 * time.Second, 100 * time.Millisecond},
		{"not reset just before", 10 * time.Second, 29 * time.Second, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextBackoff(tc.prev, tc.lived); got != tc.want {
				t.Errorf("nextBackoff(%s, %s) = %s; want %s", tc.prev, tc.lived, got, tc.want)
			}
		})
	}
}
