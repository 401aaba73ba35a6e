package core

import (
	"testing"
	"unsafe"
)

// TestPerConnectionSizes keeps the per-connection structs at the sizes
// DEVELOPERS.md states: memory per connection is the product, and conn
// fills its size class (352 bytes) exactly, so a field more costs 32 bytes
// per connection. Change DEVELOPERS.md with the numbers here.
func TestPerConnectionSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"conn", unsafe.Sizeof(conn{}), 352},
		{"endpoint", unsafe.Sizeof(endpoint{}), 80},
		{"dirState", unsafe.Sizeof(dirState{}), 16},
		{"connObs", unsafe.Sizeof(connObs{}), 40},
	} {
		if tt.got != tt.want {
			t.Errorf("unsafe.Sizeof(%s{}) = %d; want %d", tt.name, tt.got, tt.want)
		}
	}
}
