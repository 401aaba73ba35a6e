package codec

import "bytes"

// CookieValue finds name in a Cookie field's value ("a=1; b=2", RFC 6265
// §4.2.1) and returns its value: a slice of value, valid as long as value
// is, empty for "name=" and nil when name is not there. Pairs are split at
// ';' and trimmed of white space; the first pair named name wins. Names
// are compared exactly (cookie names are case-sensitive).
func CookieValue(value []byte, name string) []byte {
	for v := value; len(v) > 0; {
		var pair []byte
		if i := bytes.IndexByte(v, ';'); i >= 0 {
			pair, v = v[:i], v[i+1:]
		} else {
			pair, v = v, nil
		}
		pair = bytes.TrimSpace(pair)
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			return pair[len(name)+1:]
		}
	}
	return nil
}

// QueryValue finds name in a raw query string ("a=1&b") and returns its
// value, not unescaped: a slice of query, valid as long as query is, empty
// for "name" and "name=", nil when name is not there. The first parameter
// named name wins; names are compared exactly, as written.
func QueryValue(query []byte, name string) []byte {
	for q := query; len(q) > 0; {
		var kv []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			kv, q = q[:i], q[i+1:]
		} else {
			kv, q = q, nil
		}
		if len(kv) >= len(name) && string(kv[:len(name)]) == name {
			if len(kv) == len(name) {
				return kv[len(kv):]
			}
			if kv[len(name)] == '=' {
				return kv[len(name)+1:]
			}
		}
	}
	return nil
}
