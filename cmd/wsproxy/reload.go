package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/admin"
	"wsproxy/internal/control"
	"wsproxy/internal/master"
	"wsproxy/internal/reload"
)

// Reloads in place, the wiring: a process without a master applies the
// file on SIGHUP itself; a worker applies what its master sends over the
// control channel (internal/master, inplace.go) and serves the runtime
// API's calls the master passes on.

// logLevel is the level of the serving processes' log: a reload changes
// log.level in place (configLogger builds the handler on it).
var logLevel = new(slog.LevelVar)

// reloads counts the reloads of this process (a master's, or one without)
// for the admin listener.
var reloads = new(admin.Reloads)

// Control message types of the runtime API, from a master to its workers.
const (
	msgServers       = "upstream.servers" // body: upstream name; reply: []admin.ServerInfo, JSON
	msgServersChange = "upstream.change"  // body: admin.Op, JSON
)

// applier applies configurations to a running Server.
type applier struct {
	srv       *core.Server
	log       *slog.Logger
	loops     int      // -loops; 0: the file's
	flagLevel string   // -log-level; "": the file's
	workers   int      // a worker's generation size, for loops: auto; 0 without a master
	listen    []string // the addresses the master fixed; nil without a master
}

// apply makes cfg the Server's configuration in place, after giving it
// what serve gave the first one: the master's listen addresses, the
// loops the flags and the worker count say.
func (a *applier) apply(cfg *config.Config) (reload.Diff, error) {
	if a.listen != nil && len(cfg.Listen) == len(a.listen) {
		for i, addr := range a.listen {
			cfg.Listen[i].Addr = addr
		}
	}
	if cfg.LoopsAuto && a.workers > 0 {
		cfg.Loops = config.AutoLoops(a.workers)
	}
	if a.loops > 0 {
		cfg.Loops = a.loops
	}
	d, err := a.srv.Apply(cfg)
	if err == nil {
		if lerr := admin.SetLevel(logLevel, cfg.Log, a.flagLevel); lerr != nil {
			a.log.Warn("log level unchanged", "err", lerr)
		}
	}
	return d, err
}

// reload is a process without a master's SIGHUP: load the file, apply it
// in place. A change that needs new processes (listen, loops, admin,
// log.format) is refused, saying to restart or to run with a master.
func (a *applier) reload(load func() (master.Source, error)) {
	src, err := load()
	if err == nil {
		var d reload.Diff
		if d, err = a.apply(src.Config); err == nil {
			reloads.Note(admin.ReloadApplied, int(reloadVersion.Add(1)))
			a.log.Info("configuration applied in place", append([]any{"config", src.Name}, d.Attrs()...)...)
			return
		}
	}
	reloads.Note(admin.ReloadRefused, int(reloadVersion.Load()))
	var ge *reload.GenerationError
	if errors.As(err, &ge) {
		a.log.Error("reload refused: "+strings.Join(ge.Fields, ", ")+" changed, which needs new processes"+
			" (restart, or run with -master so that SIGHUP starts a new generation); nothing changed", "err", err)
		return
	}
	a.log.Error("reload refused; nothing changed", "err", err)
}

// serveControl registers a worker's handlers on its control channel and
// starts it: configurations applied in place, and the runtime API.
func serveControl(w *master.Worker, a *applier) {
	ctl := w.Control()
	if ctl == nil {
		a.log.Warn("no control channel from the master: reloads will start new workers")
		return
	}
	ctl.Handle(master.MsgApply, func(m control.Message) ([]byte, []int, error) {
		closeAll(m.FDs)
		var req master.ApplyRequest
		if err := json.Unmarshal(m.Body, &req); err != nil {
			return nil, nil, err
		}
		cfg, err := config.Parse(req.Name, req.Data)
		if err != nil {
			return nil, nil, err
		}
		d, err := a.apply(cfg)
		if err != nil {
			a.log.Error("configuration refused; serving the previous one", "err", err)
			return nil, nil, err
		}
		a.log.Info("configuration applied in place", append([]any{"config", req.Name}, d.Attrs()...)...)
		return nil, nil, nil
	})
	up := processUpstreams{a.srv}
	ctl.Handle(msgServers, func(m control.Message) ([]byte, []int, error) {
		closeAll(m.FDs)
		list, err := up.Servers(string(m.Body))
		if err != nil {
			return nil, nil, err
		}
		b, err := json.Marshal(list)
		return b, nil, err
	})
	ctl.Handle(msgServersChange, func(m control.Message) ([]byte, []int, error) {
		closeAll(m.FDs)
		var op admin.Op
		if err := json.Unmarshal(m.Body, &op); err != nil {
			return nil, nil, err
		}
		if err := up.Change(op); err != nil {
			return nil, nil, err
		}
		a.log.Info("upstream changed by the runtime API, until the next reload", "upstream", op.Upstream,
			"action", op.Action, "server", op.Server.Addr)
		return nil, nil, nil
	})
	ctl.Start()
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// reloadVersion is the configuration version of a process without a
// master: 1 at start, one more per reload applied.
var reloadVersion atomic.Int64

// processUpstreams is the runtime API of one process: core's servers.
type processUpstreams struct{ srv *core.Server }

func (p processUpstreams) Servers(upstream string) ([]admin.ServerInfo, error) {
	list, err := p.srv.Servers(upstream)
	if errors.Is(err, core.ErrUnknownUpstream) {
		return nil, fmt.Errorf("%w: %s", admin.ErrNoUpstream, upstream)
	}
	if err != nil {
		return nil, err
	}
	out := make([]admin.ServerInfo, len(list))
	for i, s := range list {
		out[i] = admin.ServerInfo{Addr: s.Addr, Weight: max(s.Weight, 1), MaxConns: s.MaxConns, Backup: s.Backup,
			Up: s.Up, Drained: s.Drained, Active: s.Active, Tunnels: s.Tunnels}
	}
	return out, nil
}

func (p processUpstreams) Change(op admin.Op) error {
	list, err := p.srv.Servers(op.Upstream)
	if errors.Is(err, core.ErrUnknownUpstream) {
		return fmt.Errorf("%w: %s", admin.ErrNoUpstream, op.Upstream)
	}
	if err != nil {
		return err
	}
	conf := make([]config.Server, len(list))
	for i, s := range list {
		conf[i] = s.Server
	}
	next, err := admin.ApplyOp(conf, op)
	if err != nil {
		return err
	}
	return p.srv.SetServers(op.Upstream, next)
}

// masterUpstreams is the runtime API of a master: every call goes to each
// worker of the serving generation; lists are summed. m is set once the
// master exists (its admin listener starts first).
type masterUpstreams struct{ m atomic.Pointer[master.Master] }

var errNoMaster = errors.New("the master is starting")

func (mu *masterUpstreams) broadcast(msgType string, body []byte) ([]master.Reply, error) {
	m := mu.m.Load()
	if m == nil {
		return nil, errNoMaster
	}
	return m.Broadcast(msgType, body)
}

func (mu *masterUpstreams) Servers(upstream string) ([]admin.ServerInfo, error) {
	replies, err := mu.broadcast(msgServers, []byte(upstream))
	if err != nil {
		return nil, err
	}
	var out []admin.ServerInfo
	byAddr := map[string]int{}
	for _, r := range replies {
		if r.Err != nil {
			return nil, workerError(r)
		}
		var list []admin.ServerInfo
		if err := json.Unmarshal(r.Body, &list); err != nil {
			return nil, fmt.Errorf("worker %s: %w", r.Worker, err)
		}
		for _, s := range list {
			i, ok := byAddr[s.Addr]
			if !ok {
				byAddr[s.Addr] = len(out)
				out = append(out, s)
				continue
			}
			o := &out[i]
			o.Up = o.Up && s.Up
			o.Drained = o.Drained || s.Drained
			o.Active += s.Active
			o.Tunnels += s.Tunnels
		}
	}
	return out, nil
}

func (mu *masterUpstreams) Change(op admin.Op) error {
	body, _ := json.Marshal(op)
	replies, err := mu.broadcast(msgServersChange, body)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range replies {
		if r.Err != nil {
			errs = append(errs, workerError(r))
		}
	}
	return errors.Join(errs...)
}

// workerError names the worker in its error and keeps ErrNoUpstream.
func workerError(r master.Reply) error {
	if strings.Contains(r.Err.Error(), admin.ErrNoUpstream.Error()) {
		return fmt.Errorf("%w (worker %s: %v)", admin.ErrNoUpstream, r.Worker, r.Err)
	}
	return fmt.Errorf("worker %s: %w", r.Worker, r.Err)
}
