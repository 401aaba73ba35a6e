package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the file at path and parses it with Parse; errors name path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *fs.PathError: "open PATH: ..."
	}
	return Parse(path, data)
}

// Parse decodes data, fills in defaults and validates the result; file only
// prefixes the errors and is stored in Config.File. Problems with the shape
// of the document (syntax, unknown keys, wrong types) are reported first and
// on their own, so that they do not cause misleading validation errors; all
// problems of each phase are reported together.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{File: file, lines: map[string]int{"": 1}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		// Empty file: Validate reports "no listeners".
	case err != nil:
		return nil, syntaxError(file, data, err)
	default:
		var extra yaml.Node
		switch err := dec.Decode(&extra); {
		case err == nil:
			return nil, &fieldError{file: file, line: extra.Line, msg: "only one YAML document is allowed"}
		case !errors.Is(err, io.EOF):
			return nil, syntaxError(file, data, err)
		}
		d := decoder{p: problems{file: file, lines: c.lines}, budget: maxNodes}
		if len(doc.Content) > 0 {
			root := doc.Content[0]
			c.lines[""] = root.Line
			d.value("", root, reflect.ValueOf(c).Elem())
		}
		if err := d.p.err(); err != nil {
			return nil, err
		}
	}
	for i := range c.Routes {
		c.Routes[i].Line = c.lines[fmt.Sprintf("routes[%d]", i)]
	}
	for i := range c.Listen {
		if t := c.Listen[i].TLS; t != nil {
			f := fmt.Sprintf("listen[%d].tls", i)
			t.certAt, t.keyAt = c.At(f+".cert"), c.At(f+".key")
			t.ticketKeysAt = nil
			for j := range t.SessionTicketKeys {
				t.ticketKeysAt = append(t.ticketKeysAt, c.At(fmt.Sprintf("%s.session_ticket_keys[%d]", f, j)))
			}
			for j := range t.Certificates {
				cf := fmt.Sprintf("%s.certificates[%d]", f, j)
				t.Certificates[j].CertAt, t.Certificates[j].KeyAt = c.At(cf+".cert"), c.At(cf+".key")
			}
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decoder copies a yaml.Node tree into Go values by their yaml tags,
// recording the line of every field and rejecting unknown or repeated keys.
// It is used instead of yaml.Node.Decode because that forgets lines and
// ignores unknown keys.
type decoder struct {
	p problems

	// budget is how many more nodes may be decoded. Aliases let a small
	// file name a huge tree ("billion laughs"); yaml.v3 guards against that
	// only in its own decoding, which this one replaces.
	budget int
}

// maxNodes bounds the decoded tree, aliases expanded; real configurations
// are a few hundred nodes.
const maxNodes = 1 << 18

var durationType = reflect.TypeFor[Duration]()

// value decodes n into v, which is addressable; path names v in errors.
func (d *decoder) value(path string, n *yaml.Node, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.budget--; d.budget == 0 {
		d.p.addf(path, "document too large once aliases are expanded (over %d nodes)", maxNodes)
	}
	if d.budget <= 0 {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" or "key: ~" leaves the zero value, i.e. the default
	}
	switch {
	case v.Type() == durationType:
		d.duration(path, n, v)
	case v.Type() == sizeType:
		d.size(path, n, v)
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(path, n, v.Elem())
	case v.Kind() == reflect.Struct:
		d.structure(path, n, v)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.p.addf(path, "expected a list, got %s", describe(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.p.lines[p] = item.Line
			d.value(p, item, v.Index(i))
		}
	case v.Kind() == reflect.Map:
		d.mapping(path, n, v)
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.p.addf(path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Int, v.Kind() == reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.p.addf(path, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case v.Kind() == reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" && n.ShortTag() != "!!float" || n.Decode(&f) != nil {
			d.p.addf(path, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.p.addf(path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		panic("config: no decoder for " + v.Type().String())
	}
}

// structure decodes a mapping into the exported, yaml-tagged fields of v.
func (d *decoder) structure(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.p.addf(path, "expected a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	var names []string
	index := make(map[string]int)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names = append(names, name)
		index[name] = i
	}
	// Merge keys ("<<: *defaults") first, so that the mapping's own keys
	// override what they bring in.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, val := n.Content[i], n.Content[i+1]; k.ShortTag() == "!!merge" {
			for val.Kind == yaml.AliasNode {
				val = val.Alias
			}
			if val.Kind == yaml.SequenceNode {
				for _, m := range val.Content {
					d.value(path, m, v)
				}
			} else {
				d.value(path, val, v)
			}
		}
	}
	d.keys(path, n, func(key string, p string, val *yaml.Node) {
		i, ok := index[key]
		if !ok && path == "" && strings.HasPrefix(key, "x-") {
			return // extension field: a place for anchors, as in Compose files
		}
		if !ok {
			d.p.addf(p, "unknown field%s", suggest(key, names))
			return
		}
		d.value(p, val, v.Field(i))
	})
}

// mapping decodes a mapping with string keys into the map v.
func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.p.addf(path, "expected a mapping, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.keys(path, n, func(key string, p string, val *yaml.Node) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(p, val, elem)
		v.SetMapIndex(reflect.ValueOf(key), elem)
	})
}

// keys calls fn for each key of the mapping n with the key's path, after
// recording its line and rejecting keys that are not strings or repeat.
func (d *decoder) keys(path string, n *yaml.Node, fn func(key, path string, val *yaml.Node)) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if k.Kind != yaml.ScalarNode {
			d.p.addAt(k.Line, path, "keys must be plain strings, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.p.addAt(k.Line, p, "repeated key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		if k.ShortTag() == "!!merge" {
			continue // done by structure
		}
		d.p.lines[p] = k.Line
		fn(k.Value, p, val)
	}
}

// duration decodes "1m30s"; bare numbers are refused with a hint.
func (d *decoder) duration(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.p.addf(path, "expected a duration such as \"5s\", got %s", describe(n))
		return
	}
	if tag := n.ShortTag(); tag == "!!int" || tag == "!!float" {
		d.p.addf(path, "duration %s has no unit (write \"%ss\" or \"%sms\")", n.Value, n.Value, n.Value)
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.p.addf(path, "invalid duration %q (write e.g. \"5s\", \"1m30s\", \"500ms\")", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// describe names what n is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}
