package config_test

import (
	"fmt"

	"wsproxy/config"
)

// Problems with the shape of the file (here an unknown key) are reported
// before, and instead of, problems with the values.
func ExampleParse() {
	_, err := config.Parse("wsproxy.yaml", []byte(`listen:
  - adress: 127.0.0.1:8080
upstreams:
  webpush:
    balance: ip_hash
    servers: [{addr: "127.0.0.1:10081"}]
routes:
  - {path: /, upstream: webpsh}
`))
	fmt.Println(err)

	_, err = config.Parse("wsproxy.yaml", []byte(`listen:
  - addr: localhost:8080
upstreams:
  webpush:
    balance: hash
    servers: [{addr: "127.0.0.1:10081", weight: -1}]
routes:
  - path: services
    upstream: webpsh
    strip_prefix: true
    rewrite: {regex: "^/services/(.*)", to: "/$1x"}
timeouts:
  idle: -1h
`))
	fmt.Println(err)
	// Output:
	// wsproxy.yaml:2: listen[0].adress: unknown field (did you mean addr?)
	// wsproxy.yaml:2: listen[0].addr: host "localhost" in "localhost:8080" must be an IP address (only upstream servers may use names)
	// wsproxy.yaml:5: upstreams.webpush.hash_key: required for balance: hash (header:NAME, cookie:NAME, query:NAME or ip)
	// wsproxy.yaml:6: upstreams.webpush.servers[0].weight: must be at least 1, got -1
	// wsproxy.yaml:8: routes[0].path: must start with "/", got "services"
	// wsproxy.yaml:9: routes[0].upstream: unknown upstream "webpsh" (did you mean webpush?)
	// wsproxy.yaml:11: routes[0].rewrite: cannot be combined with strip_prefix (let the regex drop the prefix)
	// wsproxy.yaml:11: routes[0].rewrite.to: "$1x" means the group named "1x", which does not exist (write "${1}x")
	// wsproxy.yaml:13: timeouts.idle: must not be negative, got -1h0m0s
}
