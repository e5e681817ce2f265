//go:build !unix

package main

import "time"

// selfCPU is unknown here: the report leaves the CPU columns at zero.
func selfCPU() time.Duration { return 0 }
