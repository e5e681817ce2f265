//go:build !race

package oktasso

const raceEnabled = false
