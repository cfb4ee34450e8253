package main

/*
#cgo LDFLAGS: -ldl -lm -lpthread
#include <stdlib.h>
#include "pagerduty_core.h"

extern int32_t pdHostCall(size_t context, uint8_t *request, size_t request_len, PdHostBytes *reply);
extern void pdHostFree(uint8_t *ptr);
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// The static library libpagerduty_core.a comes from `cargo build --release`;
// the Makefile passes its path in CGO_LDFLAGS, because Cargo's target folder
// lives in a cache outside the repository.

// core owns the Rust core created by pd_core_new.
type core struct {
	ptr *C.PdCore
}

func newCore() (*core, error) {
	ptr := C.pd_core_new()
	if ptr == nil {
		return nil, errors.New("failed to start the PagerDuty plugin core")
	}
	return &core{ptr: ptr}, nil
}

// free stops the core's runtime. No call may be running on it.
func (c *core) free() {
	C.pd_core_free(c.ptr)
	c.ptr = nil
}

// call sends one hook request to the core and decodes its JSON result into
// reply. Host callbacks made during the call reach host through a cgo
// handle that lives only for the call.
func (c *core) call(host *hostAPI, request any, reply any) error {
	payload, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("failed to encode the request for the core: %w", err)
	}

	handle := cgo.NewHandle(host)
	defer handle.Delete()

	callbacks := C.PdHostCallbacks{
		call: (*[0]byte)(C.pdHostCall),
		free: (*[0]byte)(C.pdHostFree),
	}
	var out C.PdBytes
	status := C.pd_core_handle(
		c.ptr,
		callbacks,
		C.size_t(handle),
		(*C.uint8_t)(unsafe.SliceData(payload)),
		C.size_t(len(payload)),
		&out,
	)
	result := C.GoBytes(unsafe.Pointer(out.ptr), C.int(out.len))
	C.pd_bytes_free(out)

	if status != C.PD_STATUS_OK {
		var failure struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(result, &failure) != nil || failure.Error == "" {
			failure.Error = "no error message"
		}
		return fmt.Errorf("PagerDuty plugin core failed (status %d): %s", int(status), failure.Error)
	}
	if reply == nil {
		return nil
	}
	if err := json.Unmarshal(result, reply); err != nil {
		return fmt.Errorf("failed to decode the core's reply: %w", err)
	}
	return nil
}
