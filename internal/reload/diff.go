// Package reload compares two configurations: what a reload changes, and
// whether it can be applied inside the running processes or needs a new
// generation of them (listeners, workers, loops, the admin listener).
package reload

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"wsproxy/config"
)

// Diff is what changes from one configuration to the next.
type Diff struct {
	// Generation lists the changed fields that only a new generation of
	// processes can apply: listen, workers, loops, admin, log.format.
	// Empty: the rest applies in place.
	Generation []string

	// Routes and upstreams that come and go, "HOST/PATH -> UPSTREAM" and
	// by name; servers that come and go, "UPSTREAM ADDR".
	RoutesAdded, RoutesRemoved       []string
	UpstreamsAdded, UpstreamsRemoved []string
	ServersAdded, ServersRemoved     []string

	// Changed lists the other fields that change, by path, such as
	// "timeouts.idle", "routes[/chat].websocket.max_frame" or
	// "upstreams.api.servers[10.0.0.1:80].weight".
	Changed []string
}

// GenerationError is the refusal to apply in place a configuration that
// changes what only a new generation of processes can (Diff.Generation).
type GenerationError struct {
	Fields []string // the top-level fields that differ
}

func (e *GenerationError) Error() string {
	return strings.Join(e.Fields, ", ") + " changed: a new generation of processes is needed"
}

// Compare returns what changes from old to next, both validated.
func Compare(old, next *config.Config) Diff {
	var d Diff
	d.Generation = append(d.Generation, listeners(old, next)...)
	if old.Workers != next.Workers {
		d.Generation = append(d.Generation, "workers")
	}
	if old.Loops != next.Loops || old.LoopsAuto != next.LoopsAuto {
		d.Generation = append(d.Generation, "loops")
	}
	if old.Procs != next.Procs {
		d.Generation = append(d.Generation, "procs") // each process's governor starts with it
	}
	if old.CPUAffinity != next.CPUAffinity {
		d.Generation = append(d.Generation, "cpu_affinity") // each process binds itself when it starts
	}
	if !reflect.DeepEqual(old.Admin, next.Admin) {
		d.Generation = append(d.Generation, "admin")
	}
	if old.Log.Format != next.Log.Format {
		d.Generation = append(d.Generation, "log.format") // a new handler; the level changes in place
	}
	// Certificates of a TLS listener are reloaded in place: its files are
	// compared here, the rest of the listener above.
	for i := range min(len(old.Listen), len(next.Listen)) {
		if a, b := old.Listen[i].TLS, next.Listen[i].TLS; a != nil && b != nil && !slices.Equal(files(a), files(b)) {
			d.Changed = append(d.Changed, fmt.Sprintf("listen[%d].tls.certificates", i))
		}
	}
	top := []string{"listen", "workers", "loops", "procs", "cpu_affinity", "admin", "routes", "upstreams"}
	if len(d.Generation) > 0 && old.Log.Format != next.Log.Format {
		top = append(top, "log") // said above; log.level would repeat it
	}
	d.Changed = append(d.Changed, fields("", reflect.ValueOf(*old), reflect.ValueOf(*next), top)...)
	d.routes(old, next)
	d.upstreams(old, next)
	return d
}

// listeners is what of the listeners needs a new generation to change:
// everything but the certificate files, as "listen[i].field" paths.
func listeners(old, next *config.Config) []string {
	if len(old.Listen) != len(next.Listen) {
		return []string{"listen"}
	}
	var out []string
	for i := range old.Listen {
		a, b := old.Listen[i], next.Listen[i]
		a.TLS, b.TLS = nil, nil
		f := fmt.Sprintf("listen[%d]", i)
		out = append(out, fields(f, reflect.ValueOf(a), reflect.ValueOf(b), nil)...)
		at, bt := old.Listen[i].TLS, next.Listen[i].TLS
		if (at == nil) != (bt == nil) {
			out = append(out, f+".tls")
		} else if at != nil {
			out = append(out, fields(f+".tls", reflect.ValueOf(*at), reflect.ValueOf(*bt), []string{"cert", "key", "certificates"})...)
		}
	}
	return out
}

// files lists the certificate and key files of a TLS listener.
func files(t *config.TLS) []string {
	var out []string
	for _, p := range t.Pairs() {
		out = append(out, p.Cert, p.Key)
	}
	return out
}

func routeKey(r *config.Route) string { return r.Host + r.Path }

func (d *Diff) routes(old, next *config.Config) {
	was := make(map[string]*config.Route)
	for i := range old.Routes {
		was[routeKey(&old.Routes[i])] = &old.Routes[i]
	}
	is := make(map[string]bool)
	for i := range next.Routes {
		r := &next.Routes[i]
		k := routeKey(r)
		is[k] = true
		o := was[k]
		switch {
		case o == nil:
			d.RoutesAdded = append(d.RoutesAdded, k+" -> "+r.Upstream)
		case o.Upstream != r.Upstream:
			d.RoutesRemoved = append(d.RoutesRemoved, k+" -> "+o.Upstream)
			d.RoutesAdded = append(d.RoutesAdded, k+" -> "+r.Upstream)
		default:
			d.Changed = append(d.Changed, fields("routes["+k+"]", reflect.ValueOf(*o), reflect.ValueOf(*r), nil)...)
		}
	}
	for i := range old.Routes {
		if k := routeKey(&old.Routes[i]); !is[k] {
			d.RoutesRemoved = append(d.RoutesRemoved, k+" -> "+old.Routes[i].Upstream)
		}
	}
}

func (d *Diff) upstreams(old, next *config.Config) {
	for _, name := range slices.Sorted(maps.Keys(next.Upstreams)) {
		u, o := next.Upstreams[name], old.Upstreams[name]
		if o == nil {
			d.UpstreamsAdded = append(d.UpstreamsAdded, name)
			continue
		}
		f := "upstreams." + name
		d.Changed = append(d.Changed, fields(f, reflect.ValueOf(*o), reflect.ValueOf(*u), []string{"servers"})...)
		had := make(map[string]*config.Server)
		for i := range o.Servers {
			had[o.Servers[i].Addr] = &o.Servers[i]
		}
		has := make(map[string]bool)
		for i := range u.Servers {
			s := &u.Servers[i]
			has[s.Addr] = true
			if h := had[s.Addr]; h == nil {
				d.ServersAdded = append(d.ServersAdded, name+" "+s.Addr)
			} else {
				d.Changed = append(d.Changed, fields(f+".servers["+s.Addr+"]", reflect.ValueOf(*h), reflect.ValueOf(*s), nil)...)
			}
		}
		for _, s := range o.Servers {
			if !has[s.Addr] {
				d.ServersRemoved = append(d.ServersRemoved, name+" "+s.Addr)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(old.Upstreams)) {
		if next.Upstreams[name] == nil {
			d.UpstreamsRemoved = append(d.UpstreamsRemoved, name)
		}
	}
}

// fields lists the paths of the fields that differ between a and b, two
// values of one type, named by their YAML keys under prefix; skip names
// top-level keys compared elsewhere. Fields without a YAML key (yaml:"-",
// unexported) are not compared: they are derived or positions.
func fields(prefix string, a, b reflect.Value, skip []string) []string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{prefix}
			}
			return nil
		}
		return fields(prefix, a.Elem(), b.Elem(), skip)
	case reflect.Struct:
		var out []string
		t := a.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "" || name == "-" || slices.Contains(skip, name) {
				continue
			}
			p := name
			if prefix != "" {
				p = prefix + "." + name
			}
			out = append(out, fields(p, a.Field(i), b.Field(i), nil)...)
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{prefix}
	}
	return nil
}

// Empty reports whether nothing changes.
func (d Diff) Empty() bool {
	return len(d.Generation)+len(d.RoutesAdded)+len(d.RoutesRemoved)+len(d.UpstreamsAdded)+len(d.UpstreamsRemoved)+
		len(d.ServersAdded)+len(d.ServersRemoved)+len(d.Changed) == 0
}

// Attrs are the log attributes of d: the lists that are not empty.
func (d Diff) Attrs() []any {
	var out []any
	add := func(key string, v []string) {
		if len(v) > 0 {
			out = append(out, key, strings.Join(v, ","))
		}
	}
	add("generation", d.Generation)
	add("routes_added", d.RoutesAdded)
	add("routes_removed", d.RoutesRemoved)
	add("upstreams_added", d.UpstreamsAdded)
	add("upstreams_removed", d.UpstreamsRemoved)
	add("servers_added", d.ServersAdded)
	add("servers_removed", d.ServersRemoved)
	add("changed", d.Changed)
	if len(out) == 0 {
		out = append(out, "changed", "nothing")
	}
	return out
}
