package core

import (
	"fmt"
	"time"

	"wsproxy/config"
	"wsproxy/internal/tickets"
)

// Session tickets of the TLS listeners (internal/tickets has the why):
// keys derived from Options.TicketSecret and rotated by one Rotator for
// the whole Server, or read from the files a listener's
// session_ticket_keys names (again on ReloadCertificates), or none with
// session_tickets: false.

// initTickets sets up the session tickets of tl as lc, a tls section of
// cfg, says; secret is
// Options.TicketSecret. Key files are read here, so a missing or broken
// one stops the start with the file named.
func (ts *tlsState) initTickets(tl *tlsListener, cfg *config.Config, lc *config.TLS, secret []byte) error {
	switch {
	case !lc.TicketsOn():
		tl.config.SessionTicketsDisabled = true
	case len(lc.SessionTicketKeys) > 0:
		for i, p := range lc.SessionTicketKeys {
			at := lc.TicketKeyAt(i)
			if at == "" {
				at = fmt.Sprintf("%s.session_ticket_keys[%d]", tl.field, i)
			}
			tl.ticketFiles = append(tl.ticketFiles, tickets.File{Path: cfg.Path(p), At: at})
		}
		return tl.reloadTickets()
	default:
		if ts.tickets == nil {
			ts.tickets = tickets.NewRotator(secret)
		}
		ts.tickets.Add(tl.config, time.Duration(lc.SessionTicketLifetime), time.Now())
	}
	return nil
}

// reloadTickets reads tl's key files, if it has any, and makes new
// handshakes use their keys; on an error the previous keys stay.
func (tl *tlsListener) reloadTickets() error {
	if len(tl.ticketFiles) == 0 {
		return nil
	}
	keys, err := tickets.ReadFiles(tl.ticketFiles)
	if err != nil {
		return err
	}
	tl.config.SetSessionTicketKeys(keys)
	return nil
}

// startTickets starts the rotation of the derived keys; stopTickets ends
// it. Both do nothing without derived keys.
func (ts *tlsState) startTickets() {
	if ts.tickets != nil {
		ts.tickets.Start()
	}
}

func (ts *tlsState) stopTickets() {
	if ts.tickets != nil {
		ts.tickets.Stop()
	}
}
