// Package examples holds example configurations; Seed is embedded so that
// `wsproxy run` with no flags can start the seed's topology.
package examples

import _ "embed"

// Seed is examples/seed.yaml: the seed's sections 1, 3 and 4 on loopback.
//
//go:embed seed.yaml
var Seed []byte
