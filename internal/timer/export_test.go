package timer

import "time"

// Origin exposes the wheel's time origin so tests can place deadlines on
// exact tick boundaries.
func (w *Wheel) Origin() time.Time { return w.origin }
