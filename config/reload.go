package config

import "time"

// What on_remove accepts.
const (
	OnRemoveKeep  = "keep"  // a removed server's tunnels run until they end
	OnRemoveClose = "close" // they get Close 1001, spread over remove_window
)

// DefaultRemoveWindow is remove_window's default, the same as the admin
// API's /drain.
const DefaultRemoveWindow = 10 * time.Second

// onRemove checks and defaults on_remove and remove_window.
func (v *validator) onRemove(f string, u *Upstream) {
	switch u.OnRemove {
	case "":
		u.OnRemove = OnRemoveKeep
	case OnRemoveKeep, OnRemoveClose:
	default:
		v.p.addf(f+".on_remove", "unknown value %q (want keep or close)", u.OnRemove)
	}
	switch {
	case u.RemoveWindow < 0:
		v.p.addf(f+".remove_window", "must not be negative")
	case u.RemoveWindow == 0:
		u.RemoveWindow = Duration(DefaultRemoveWindow)
	}
}
