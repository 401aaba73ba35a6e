package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"wsproxy/core/metrics"
)

// EnvDir is the environment variable with which a master tells its workers
// where to serve their metrics: a directory, private to the master, in
// which each worker listens on a unix socket named after its process id
// (PID.sock) and answers GET /snapshot with its metrics.Snapshot as
// JSON.
const EnvDir = "WSPROXY_ADMIN_DIR"

// snapshotPath is the request path a worker's socket answers.
const snapshotPath = "/snapshot"

// SnapshotServer is the worker side: it serves a process's snapshot on a
// unix socket until Close.
type SnapshotServer struct {
	path string
	http *http.Server
	done chan struct{}
}

// ServeSnapshot listens on a unix socket named after this process in dir
// and serves snapshot() there.
func ServeSnapshot(dir string, snapshot func() metrics.Snapshot) (*SnapshotServer, error) {
	return serveSnapshot(filepath.Join(dir, fmt.Sprintf("%d.sock", os.Getpid())), snapshot, nil)
}

// ServeWorker is ServeSnapshot plus the worker's side of backend drains
// forwarded by the master (Workers.Drain).
func ServeWorker(dir string, snapshot func() metrics.Snapshot, drain DrainFunc) (*SnapshotServer, error) {
	return serveSnapshot(filepath.Join(dir, fmt.Sprintf("%d.sock", os.Getpid())), snapshot, drain)
}

func serveSnapshot(path string, snapshot func() metrics.Snapshot, drain DrainFunc) (*SnapshotServer, error) {
	os.Remove(path) // left by an earlier process with this pid
	// The socket is bound under another name and renamed into place once
	// it listens: between bind (which makes the file) and listen, a
	// connect is refused, and the master takes a refused socket for a
	// dead worker's and removes it, which left this worker out of the sums
	// for good (TestAdminWorkers, once under load).
	tmp := path + ".new"
	os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // Close removes path, below
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+snapshotPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(snapshot())
	})
	if drain != nil {
		mux.HandleFunc("POST /drain", drainHandler(drain, false))
		mux.HandleFunc("POST /undrain", drainHandler(drain, true))
	}
	s := &SnapshotServer{path: path, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.http.Serve(ln)
	}()
	return s, nil
}

// Close stops serving and removes the socket, which tells the master that
// this worker is gone.
func (s *SnapshotServer) Close() error {
	err := s.http.Close()
	<-s.done
	os.Remove(s.path)
	return err
}

// Workers is the master side: it sums the snapshots its workers serve in
// Dir. Counters of workers that have exited stay in the sum (at their last
// values read), so that totals do not drop when a generation is replaced
// or a worker restarted; gauges come from live workers only.
type Workers struct {
	// Dir is the directory passed to the workers in EnvDir.
	Dir string

	// Timeout bounds each worker's answer. Zero: 2s. A worker that does
	// not answer in time is counted at its last snapshot.
	Timeout time.Duration

	// Logger receives problems reaching workers. Nil: slog.Default().
	Logger *slog.Logger

	mu   sync.Mutex
	last map[string]metrics.Snapshot // by socket name: the last snapshot read
	gone metrics.Snapshot            // counters of the workers that exited
}

// Snapshot asks every worker for its snapshot and returns their sum. It is
// safe for concurrent use; concurrent calls take turns.
func (w *Workers) Snapshot() metrics.Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = make(map[string]metrics.Snapshot)
	}
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		log.Warn("admin: cannot list worker sockets", "dir", w.Dir, "err", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sock") {
			names = append(names, e.Name())
		}
	}
	results := make([]fetched, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { results[i] = w.fetch(filepath.Join(w.Dir, name)) })
	}
	wg.Wait()
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		r := results[i]
		seen[name] = true
		switch {
		case r.err == nil:
			w.last[name] = r.snap
		case errors.Is(r.err, syscall.ECONNREFUSED) || errors.Is(r.err, fs.ErrNotExist):
			// Nothing listens: the worker died without removing its socket.
			os.Remove(filepath.Join(w.Dir, name))
			w.retire(name)
		default:
			log.Warn("admin: worker did not answer; using its last snapshot", "socket", name, "err", r.err)
		}
	}
	for name := range w.last {
		if !seen[name] {
			w.retire(name) // it removed its socket on exit
		}
	}
	sum := w.gone.Counters()
	for _, name := range slices.Sorted(maps.Keys(w.last)) {
		s := w.last[name]
		sum.Merge(&s)
	}
	return sum
}

type fetched struct {
	snap metrics.Snapshot
	err  error
}

// fetch reads the snapshot served on the socket at path.
func (w *Workers) fetch(path string) fetched {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://worker"+snapshotPath, nil)
	if err != nil {
		return fetched{err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetched{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetched{err: fmt.Errorf("status %s", resp.Status)}
	}
	var r fetched
	r.err = json.NewDecoder(resp.Body).Decode(&r.snap)
	return r
}

// retire moves a gone worker's counters into w.gone.
func (w *Workers) retire(name string) {
	if s, ok := w.last[name]; ok {
		c := s.Counters()
		w.gone.Merge(&c)
		delete(w.last, name)
	}
}
