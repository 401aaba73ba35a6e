package master

import (
	"fmt"

	"wsproxy/config"
	"wsproxy/internal/sidshm"
)

// sidTable makes sure the master holds the shared Engine.IO sid table when
// cfg has an upstream with balance: sid, and reports whether the
// generation's workers get it. The table is created once and handed to
// every later generation, so sessions learnt before a reload or by a
// worker that died keep routing.
func (m *Master) sidTable(cfg *config.Config) (bool, error) {
	if !usesSid(cfg) {
		return false, nil
	}
	if m.sids == nil {
		f, err := sidshm.Create(m.cfg.SidTableSize)
		if err != nil {
			return false, fmt.Errorf("shared sid table: %w", err)
		}
		m.sids = f
	}
	return true, nil
}

// usesSid reports whether an upstream of cfg balances by Engine.IO sid.
func usesSid(cfg *config.Config) bool {
	for _, u := range cfg.Upstreams {
		if u.Balance == config.BalanceSID {
			return true
		}
	}
	return false
}

// closeSidTable closes the master's descriptor of the table; workers keep
// their own descriptors and mappings.
func (m *Master) closeSidTable() {
	if m.sids != nil {
		m.sids.Close()
		m.sids = nil
	}
}
