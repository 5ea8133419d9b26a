//go:build !race

package main

// raceEnabled builds the child binary with the race detector when the
// tests run under it.
const raceEnabled = false
