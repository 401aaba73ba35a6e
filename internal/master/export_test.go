package master

// ParseListenFDs is parseListenFDs, for tests.
var ParseListenFDs = parseListenFDs
