// Command cgobare times a bare call from Go into the core's C ABI:
// pd_bytes_free on empty bytes, which returns at once, so the figure is
// the cost of one cgo transition. Link it with the core as the Makefile
// links the shim (CGO_LDFLAGS names libpagerduty_core.a).
package main

/*
#cgo CFLAGS: -I../../../go-shim
#cgo LDFLAGS: -ldl -lm -lpthread
#include "pagerduty_core.h"
*/
import "C"

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	calls := flag.Int("calls", 10_000_000, "number of calls to time")
	flag.Parse()
	empty := C.PdBytes{}
	started := time.Now()
	for range *calls {
		C.pd_bytes_free(empty)
	}
	elapsed := time.Since(started)
	fmt.Printf("bare cgo call (pd_bytes_free on empty bytes): %.1f ns/call (%d calls; cgobare -calls %d)\n",
		float64(elapsed.Nanoseconds())/float64(*calls), *calls, *calls)
}
