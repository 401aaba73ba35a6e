package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"wsproxy/config"
)

// The runtime API changes an upstream's servers while the proxy runs,
// without a reload:
//
//	GET    /upstreams/NAME/servers                   list, with state and tunnel counts
//	POST   /upstreams/NAME/servers?addr=A[&weight=W&max_conns=M&backup=true]   add
//	PATCH  /upstreams/NAME/servers/ADDR?weight=W     change the weight
//	DELETE /upstreams/NAME/servers/ADDR              remove (its tunnels: on_remove)
//
// With worker processes the master passes every change to each worker.
// Changes last until the next reload, which restores the configuration
// file's servers; every answer says so.

// RuntimeNote is what every answer of the runtime API says.
const RuntimeNote = "changes made here last until the next reload (SIGHUP), which restores the configuration file's servers"

// ServerInfo is one server of an upstream as the runtime API lists it.
type ServerInfo struct {
	Addr     string `json:"addr"`
	Weight   int    `json:"weight"`
	MaxConns int    `json:"max_conns"`
	Backup   bool   `json:"backup"`
	Up       bool   `json:"up"`      // in rotation as far as health goes, in every process
	Drained  bool   `json:"drained"` // taken out by /drain
	Active   int    `json:"active"`  // tunnels and requests counted against it, over all processes
	Tunnels  int    `json:"tunnels"` // open WebSocket tunnels, over all processes
}

// Op is one change of an upstream's servers.
type Op struct {
	Upstream string        `json:"upstream"`
	Action   string        `json:"action"` // OpAdd, OpRemove or OpWeight
	Server   config.Server `json:"server"` // add: the server; remove: its Addr; weight: Addr and Weight
}

// Actions of an Op.
const (
	OpAdd    = "add"
	OpRemove = "remove"
	OpWeight = "weight"
)

// Upstreams is what the runtime API needs: a process's upstreams (core,
// adapted in cmd), or a master's, which passes calls to its workers.
type Upstreams interface {
	// Servers lists the servers of upstream.
	Servers(upstream string) ([]ServerInfo, error)
	// Change applies op; an error means nothing changed (in a master:
	// in any worker that answered).
	Change(op Op) error
}

// ErrNoUpstream is the error of an Op or a list for an upstream that
// does not exist; the API answers 404.
var ErrNoUpstream = errors.New("no such upstream")

// ApplyOp returns list with op applied. It refuses to add an address list
// has, to remove or reweight one it has not, to remove the last server,
// and a weight below 1.
func ApplyOp(list []config.Server, op Op) ([]config.Server, error) {
	i := slices.IndexFunc(list, func(s config.Server) bool { return s.Addr == op.Server.Addr })
	switch op.Action {
	case OpAdd:
		if i >= 0 {
			return nil, fmt.Errorf("upstream %s already has server %s", op.Upstream, op.Server.Addr)
		}
		if op.Server.Weight < 0 || op.Server.MaxConns < 0 {
			return nil, errors.New("weight and max_conns must not be negative")
		}
		return append(slices.Clone(list), op.Server), nil
	case OpRemove, OpWeight:
		if i < 0 {
			return nil, fmt.Errorf("upstream %s has no server %s", op.Upstream, op.Server.Addr)
		}
		out := slices.Clone(list)
		if op.Action == OpWeight {
			if op.Server.Weight < 1 {
				return nil, errors.New("weight must be at least 1")
			}
			out[i].Weight = op.Server.Weight
			return out, nil
		}
		if len(list) == 1 {
			return nil, fmt.Errorf("server %s is the last of upstream %s", op.Server.Addr, op.Upstream)
		}
		return slices.Delete(out, i, i+1), nil
	}
	return nil, fmt.Errorf("unknown action %q", op.Action)
}

// handleUpstreams registers the runtime API on mux.
func handleUpstreams(mux *http.ServeMux, u Upstreams) {
	mux.HandleFunc("GET /upstreams/{name}/servers", func(w http.ResponseWriter, r *http.Request) {
		list, err := u.Servers(r.PathValue("name"))
		if err != nil {
			apiError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Upstream string       `json:"upstream"`
			Servers  []ServerInfo `json:"servers"`
			Note     string       `json:"note"`
		}{r.PathValue("name"), list, RuntimeNote})
	})
	change := func(action string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			op := Op{Upstream: r.PathValue("name"), Action: action, Server: config.Server{Addr: r.PathValue("addr")}}
			q := r.URL.Query()
			if action == OpAdd {
				op.Server.Addr = q.Get("addr")
				if op.Server.Addr == "" {
					http.Error(w, "want ?addr=HOST:PORT", http.StatusBadRequest)
					return
				}
			}
			for _, f := range []struct {
				key string
				dst *int
			}{{"weight", &op.Server.Weight}, {"max_conns", &op.Server.MaxConns}} {
				if v := q.Get(f.key); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil {
						http.Error(w, f.key+": want an integer", http.StatusBadRequest)
						return
					}
					*f.dst = n
				}
			}
			if action == OpWeight && q.Get("weight") == "" {
				http.Error(w, "want ?weight=N", http.StatusBadRequest)
				return
			}
			op.Server.Backup = q.Get("backup") == "true"
			if err := u.Change(op); err != nil {
				apiError(w, err)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "%s %s: %s done; %s\n", op.Upstream, op.Server.Addr, action, RuntimeNote)
		}
	}
	mux.HandleFunc("POST /upstreams/{name}/servers", change(OpAdd))
	mux.HandleFunc("PATCH /upstreams/{name}/servers/{addr}", change(OpWeight))
	mux.HandleFunc("DELETE /upstreams/{name}/servers/{addr}", change(OpRemove))
}

func apiError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrNoUpstream) {
		status = http.StatusNotFound
	}
	http.Error(w, err.Error(), status)
}
