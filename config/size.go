package config

import (
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Size is a number of bytes. In YAML it is a plain integer or, as in
// nginx, a number with a k or m suffix (1024 and 1048576 bytes): 65536,
// "64k", "4m". Zero means unset.
type Size int64

var sizeType = reflect.TypeFor[Size]()

// maxSize bounds every Size: far above any buffer the kernel grants, and
// small enough that doubling it (SO_RCVBUF) fits in a C int.
const maxSize = 1 << 30

// size decodes n into v, a Size.
func (d *decoder) size(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.p.addf(path, "expected a size such as 65536 or \"64k\", got %s", describe(n))
		return
	}
	s, mult := strings.ToLower(n.Value), int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = s[:len(s)-1], 1<<10
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], 1<<20
	}
	x, err := strconv.ParseInt(s, 10, 64)
	if err != nil || x < 0 || x > maxSize/mult {
		d.p.addf(path, "invalid size %q (write bytes, or a number with k or m: 65536, \"64k\", \"4m\"; at most 1024m)", n.Value)
		return
	}
	v.SetInt(x * mult)
}

// sockBuffers checks a pair of socket buffer sizes at f.rcvbuf and
// f.sndbuf, unset (the kernel's autotuning) or from 4k up, and
// f.notsent_lowat, 0 (off) or from 4k up.
func (v *validator) sockBuffers(f string, rcv, snd Size, lowat *Size) {
	if lowat != nil && *lowat != 0 && *lowat < 4<<10 {
		v.p.addf(f+".notsent_lowat", "must be at least 4096 bytes, or 0 to turn it off, got %d", *lowat)
	}
	for _, b := range []struct {
		name string
		n    Size
	}{{"rcvbuf", rcv}, {"sndbuf", snd}} {
		if b.n != 0 && b.n < 4<<10 {
			v.p.addf(f+"."+b.name, "must be at least 4096 bytes (or left out for the kernel's autotuning), got %d", b.n)
		}
	}
}
