package main

import (
	"time"

	"wsproxy/balance"
	"wsproxy/config"
	"wsproxy/internal/master"
	"wsproxy/internal/sidshm"
)

// sharedSids maps the sid table the master shares with worker w and
// returns the core.Options.SidStore that serves cfg's sid upstreams from
// it, each with its sid_ttl. It returns nil when the master passed no
// table. The mapping lasts as long as the process.
func sharedSids(w *master.Worker, cfg *config.Config) (func(string) balance.SidStore, error) {
	if w.SidTable == nil {
		return nil, nil
	}
	t, err := sidshm.Open(w.SidTable)
	w.SidTable.Close()
	if err != nil {
		return nil, err
	}
	return func(upstream string) balance.SidStore {
		var ttl time.Duration
		if u := cfg.Upstreams[upstream]; u != nil {
			ttl = time.Duration(u.SidTTL)
		}
		return t.Store(upstream, ttl)
	}, nil
}
