package master

import (
	"os"
	"testing"

	"wsproxy/config"
	"wsproxy/internal/sidshm"
)

// TestSidTable checks that the master creates the shared sid table only
// for a configuration with balance: sid, once, and keeps it for the
// generations after, with or without sid upstreams.
func TestSidTable(t *testing.T) {
	m, err := New(Config{Load: func() (Source, error) { return Source{}, nil }, SidTableSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer m.closeSidTable()
	plain := &config.Config{Upstreams: map[string]*config.Upstream{"a": {Balance: config.BalanceRoundRobin}}}
	sticky := &config.Config{Upstreams: map[string]*config.Upstream{
		"a": {Balance: config.BalanceRoundRobin},
		"b": {Balance: config.BalanceSID},
	}}
	var first *os.File
	for i, tc := range []struct {
		cfg       *config.Config
		want      bool // the generation's workers get the table
		wantTable bool // the master holds one
	}{
		{plain, false, false},
		{sticky, true, true},
		{sticky, true, true},
		{plain, false, true},
	} {
		got, err := m.sidTable(tc.cfg)
		if err != nil || got != tc.want {
			t.Fatalf("generation %d: sidTable = %v, %v; want %v, nil", i+1, got, err, tc.want)
		}
		if (m.sids != nil) != tc.wantTable {
			t.Fatalf("generation %d: master holds table %v; want one: %v", i+1, m.sids, tc.wantTable)
		}
		if first == nil {
			first = m.sids
		} else if m.sids != first {
			t.Fatalf("generation %d: a new table; want the first kept", i+1)
		}
	}
	tab, err := sidshm.Open(m.sids)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if tab.Size() != 128 {
		t.Errorf("Size = %d; want SidTableSize 100 rounded up to 128", tab.Size())
	}
}
