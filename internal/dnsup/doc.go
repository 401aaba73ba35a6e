// Package dnsup takes upstream servers from DNS: a Kubernetes headless
// service (A or AAAA records, one per ready pod) or a Consul service (SRV
// records), the upstream's servers_from. A Watcher resolves one name again
// and again and hands each new server set to a callback; it knows nothing
// of the proxy that applies it (core wires the callback to its in-place
// membership change). A Set holds the Watchers of a configuration's
// upstreams and carries them over to the next one where servers_from
// stayed the same. Queries, SRV records and TTLs go through
// github.com/miekg/dns; no packet is parsed here by hand.
//
// # What a resolution yields
//
//	A, AAAA  every address of the answer (after the CNAMEs the resolver
//	         followed), each a server on the configured port, weight 1
//	SRV      the targets of the lowest priority value; each target's
//	         addresses (its A records, or AAAA when it has none, from the
//	         additional section or asked for) on the record's port, with
//	         the record's weight (0 counts as 1); higher priority values
//	         are ignored
//
// The set is sorted by address; equal sets are not handed on again.
//
// # When
//
// With an interval, every interval, whatever the TTL (nginx's resolver
// valid= does the same). Without one, when the answer's smallest TTL
// expires (nginx's resolve on a server), but at least
// config.MinDNSInterval after the last query, since Consul answers with a
// TTL of 0 by default; a failure is then retried after
// config.DefaultDNSRetry. A change is therefore seen within the interval
// (or TTL) plus one query's time.
//
// # When DNS fails
//
// A timeout, SERVFAIL, NXDOMAIN, a refusal, or an answer with no usable
// record keeps the last good set: the proxy goes on with the servers it
// knows. A warning is logged once when resolution starts failing (or fails
// differently), an info line once when it works again; every resolution
// is counted by Result (Stats, the metric
// wsproxy_dns_resolutions_total{upstream,result}). nginx differs on NXDOMAIN
// and on an empty answer: it removes every server. Here one bad answer
// must not stop new connections; a stale address costs one refused
// connect, which the passive health check marks down. An SRV target that
// does not exist is left out; a failure resolving one fails the whole
// resolution, so a passing fault never shrinks the set.
//
// # Processes
//
// Each worker process runs its own Watchers and resolves on its own, as
// nginx's workers do: no process waits for another, and the workers of a
// master may see a change up to one interval apart.
package dnsup
