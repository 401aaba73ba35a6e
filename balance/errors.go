package balance

import "errors"

// ErrNoServer is returned by Pick when every server of the pool is down or
// at its MaxConns. The core answers 503 Service Unavailable.
var ErrNoServer = errors.New("balance: no server available")

// ErrInvalidConfig is wrapped by every *ConfigError, for errors.Is.
var ErrInvalidConfig = errors.New("balance: invalid config")

// ConfigError reports a bad Config or ServerConfig field. package config maps
// Field back to the YAML key and line it came from.
type ConfigError struct {
	// Field names the field, e.g. "Policy", "HashKey" or "servers[2].Weight".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error implements error as "balance: FIELD: PROBLEM".
func (e *ConfigError) Error() string {
	return "balance: " + e.Field + ": " + e.Problem
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func configError(field, problem string) error {
	return &ConfigError{Field: field, Problem: problem}
}
