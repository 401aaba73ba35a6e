package core

// direction is the way tunnel bytes travel. It indexes every per-direction
// array of a tunnel (scanners, dirState, counters): [toUpstream] holds
// what the client sends, [toClient] what the upstream sends. A peer is
// named by the direction its frames travel: the client by toUpstream.
type direction uint8

const (
	toUpstream direction = iota // client → upstream
	toClient                    // upstream → client
)

// opposite is the other direction: toward the sender of d's frames.
func (d direction) opposite() direction { return d ^ 1 }
