package admin

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The go_* metrics of the serving process, the names, help texts and
// values of client_golang's default Go collector (expose.go says why it
// went).

func memstat(name, help string, typ string) *desc {
	return newDesc("go_memstats_"+name, help, typ)
}

var (
	descGoroutines = newDesc("go_goroutines", "Number of goroutines that currently exist.", typeGauge)
	descThreads    = newDesc("go_threads", "Number of OS threads created.", typeGauge)
	descGCDuration = newDesc("go_gc_duration_seconds",
		"A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", typeSummary)
	descLastGC = memstat("last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", typeGauge)
	descGoInfo = &desc{name: "go_info", help: "Information about the Go environment.", typ: typeGauge,
		constant: []labelPair{{"version", runtime.Version()}}}
)

// The runtime/metrics samples the memstats-like metrics are computed from.
const (
	rmTinyAllocs   = "/gc/heap/tiny/allocs:objects"
	rmAllocs       = "/gc/heap/allocs:objects"
	rmFrees        = "/gc/heap/frees:objects"
	rmAllocBytes   = "/gc/heap/allocs:bytes"
	rmObjects      = "/gc/heap/objects:objects"
	rmGoal         = "/gc/heap/goal:bytes"
	rmTotal        = "/memory/classes/total:bytes"
	rmHeapObjects  = "/memory/classes/heap/objects:bytes"
	rmHeapUnused   = "/memory/classes/heap/unused:bytes"
	rmHeapReleased = "/memory/classes/heap/released:bytes"
	rmHeapFree     = "/memory/classes/heap/free:bytes"
	rmHeapStacks   = "/memory/classes/heap/stacks:bytes"
	rmOSStacks     = "/memory/classes/os-stacks:bytes"
	rmMSpanInuse   = "/memory/classes/metadata/mspan/inuse:bytes"
	rmMSpanFree    = "/memory/classes/metadata/mspan/free:bytes"
	rmMCacheInuse  = "/memory/classes/metadata/mcache/inuse:bytes"
	rmMCacheFree   = "/memory/classes/metadata/mcache/free:bytes"
	rmBuckets      = "/memory/classes/profiling/buckets:bytes"
	rmMetaOther    = "/memory/classes/metadata/other:bytes"
	rmOther        = "/memory/classes/other:bytes"

	rmGOGC       = "/gc/gogc:percent"
	rmMemLimit   = "/gc/gomemlimit:bytes"
	rmGOMAXPROCS = "/sched/gomaxprocs:threads"
)

// memstatMetrics are the go_memstats_* metrics, each from the MemStats
// filled from runtime/metrics (memStatsFrom).
var memstatMetrics = []struct {
	d    *desc
	eval func(*runtime.MemStats) uint64
}{
	{memstat("alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.Alloc }},
	{memstat("alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", typeCounter),
		func(m *runtime.MemStats) uint64 { return m.TotalAlloc }},
	{memstat("sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.Sys }},
	{memstat("mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", typeCounter),
		func(m *runtime.MemStats) uint64 { return m.Mallocs }},
	{memstat("frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", typeCounter),
		func(m *runtime.MemStats) uint64 { return m.Frees }},
	{memstat("heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.HeapAlloc }},
	{memstat("heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.HeapSys }},
	{memstat("heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.HeapIdle }},
	{memstat("heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.HeapInuse }},
	{memstat("heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.HeapReleased }},
	{memstat("heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.HeapObjects }},
	{memstat("stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.StackInuse }},
	{memstat("stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.StackSys }},
	{memstat("mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.MSpanInuse }},
	{memstat("mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.MSpanSys }},
	{memstat("mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.MCacheInuse }},
	{memstat("mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.MCacheSys }},
	{memstat("buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.BuckHashSys }},
	{memstat("gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.GCSys }},
	{memstat("other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.OtherSys }},
	{memstat("next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", typeGauge),
		func(m *runtime.MemStats) uint64 { return m.NextGC }},
}

// runtimeGauges are the runtime/metrics the collector exposed as they are
// (its default rules): name, and the runtime/metrics name its help text
// and value come from.
var runtimeGauges = []struct{ name, rm string }{
	{"go_gc_gogc_percent", rmGOGC},
	{"go_gc_gomemlimit_bytes", rmMemLimit},
	{"go_sched_gomaxprocs_threads", rmGOMAXPROCS},
}

// goMetrics reads runtime/metrics; a scrape at a time.
type goMetrics struct {
	mu      sync.Mutex
	samples []metrics.Sample
	index   map[string]int
	gauges  []*desc // of runtimeGauges, nil where this runtime lacks the metric
}

func newGoMetrics() *goMetrics {
	g := &goMetrics{index: make(map[string]int)}
	help := make(map[string]string)
	for _, d := range metrics.All() {
		help[d.Name] = d.Description
	}
	add := func(name string) {
		if _, ok := help[name]; ok {
			if _, dup := g.index[name]; !dup {
				g.index[name] = len(g.samples)
				g.samples = append(g.samples, metrics.Sample{Name: name})
			}
		}
	}
	for _, r := range runtimeGauges {
		var d *desc
		if h, ok := help[r.rm]; ok {
			d = newDesc(r.name, h+" Sourced from "+r.rm+".", typeGauge)
			add(r.rm)
		}
		g.gauges = append(g.gauges, d)
	}
	for _, name := range []string{rmTinyAllocs, rmAllocs, rmFrees, rmAllocBytes, rmObjects, rmGoal, rmTotal,
		rmHeapObjects, rmHeapUnused, rmHeapReleased, rmHeapFree, rmHeapStacks, rmOSStacks, rmMSpanInuse,
		rmMSpanFree, rmMCacheInuse, rmMCacheFree, rmBuckets, rmMetaOther, rmOther} {
		add(name)
	}
	return g
}

func (g *goMetrics) gather(e *exposition) {
	e.value(descGoroutines, float64(runtime.NumGoroutine()))
	threads, _ := runtime.ThreadCreateProfile(nil)
	e.value(descThreads, float64(threads))
	var st debug.GCStats
	st.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&st)
	qs, vs := make([]float64, len(st.PauseQuantiles)), make([]float64, len(st.PauseQuantiles))
	for i, p := range st.PauseQuantiles {
		qs[i], vs[i] = float64(i)/float64(len(st.PauseQuantiles)-1), p.Seconds()
	}
	e.summary(descGCDuration, uint64(st.NumGC), st.PauseTotal.Seconds(), qs, vs)
	e.value(descLastGC, float64(st.LastGC.UnixNano())/1e9)
	e.value(descGoInfo, 1)

	g.mu.Lock()
	defer g.mu.Unlock()
	metrics.Read(g.samples)
	for i, r := range runtimeGauges {
		if d := g.gauges[i]; d != nil {
			e.value(d, scalar(g.samples[g.index[r.rm]].Value))
		}
	}
	var ms runtime.MemStats
	g.memStats(&ms)
	for _, m := range memstatMetrics {
		e.value(m.d, float64(m.eval(&ms)))
	}
}

func scalar(v metrics.Value) float64 {
	switch v.Kind() {
	case metrics.KindUint64:
		return float64(v.Uint64())
	case metrics.KindFloat64:
		return v.Float64()
	}
	return 0
}

// memStats fills what the collector filled of a MemStats from runtime/metrics.
func (g *goMetrics) memStats(ms *runtime.MemStats) {
	get := func(name string) uint64 {
		if i, ok := g.index[name]; ok && g.samples[i].Value.Kind() == metrics.KindUint64 {
			return g.samples[i].Value.Uint64()
		}
		return 0
	}
	tiny := get(rmTinyAllocs)
	ms.Mallocs = get(rmAllocs) + tiny
	ms.Frees = get(rmFrees) + tiny
	ms.TotalAlloc = get(rmAllocBytes)
	ms.Sys = get(rmTotal)
	ms.HeapAlloc = get(rmHeapObjects)
	ms.Alloc = ms.HeapAlloc
	ms.HeapInuse = ms.HeapAlloc + get(rmHeapUnused)
	ms.HeapReleased = get(rmHeapReleased)
	ms.HeapIdle = ms.HeapReleased + get(rmHeapFree)
	ms.HeapSys = ms.HeapInuse + ms.HeapIdle
	ms.HeapObjects = get(rmObjects)
	ms.StackInuse = get(rmHeapStacks)
	ms.StackSys = ms.StackInuse + get(rmOSStacks)
	ms.MSpanInuse = get(rmMSpanInuse)
	ms.MSpanSys = ms.MSpanInuse + get(rmMSpanFree)
	ms.MCacheInuse = get(rmMCacheInuse)
	ms.MCacheSys = ms.MCacheInuse + get(rmMCacheFree)
	ms.BuckHashSys = get(rmBuckets)
	ms.GCSys = get(rmMetaOther)
	ms.OtherSys = get(rmOther)
	ms.NextGC = get(rmGoal)
}
