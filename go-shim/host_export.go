package main

/*
#include <stdlib.h>
#include "pagerduty_core.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// pdHostCall is the core's host callback. It runs on the goroutine that
// called pd_core_handle. A panic here is recovered and reported to the core
// as an error, because it must not unwind through C.
//
//export pdHostCall
func pdHostCall(context C.size_t, request *C.uint8_t, requestLen C.size_t, reply *C.PdHostBytes) (status C.int32_t) {
	defer func() {
		if recovered := recover(); recovered != nil {
			writeHostReply(reply, errorReply(fmt.Errorf("host call panicked: %v", recovered)))
			status = C.PD_STATUS_ERROR
		}
	}()

	host, ok := cgo.Handle(context).Value().(*hostAPI)
	if !ok {
		writeHostReply(reply, errorReply(fmt.Errorf("invalid host context")))
		return C.PD_STATUS_ERROR
	}
	payload := C.GoBytes(unsafe.Pointer(request), C.int(requestLen))
	result, err := host.dispatch(payload)
	if err != nil {
		writeHostReply(reply, errorReply(err))
		return C.PD_STATUS_ERROR
	}
	writeHostReply(reply, result)
	return C.PD_STATUS_OK
}

// pdHostFree frees bytes that pdHostCall returned.
//
//export pdHostFree
func pdHostFree(ptr *C.uint8_t) {
	C.free(unsafe.Pointer(ptr))
}

// writeHostReply copies data into C memory that the core frees with pdHostFree.
func writeHostReply(reply *C.PdHostBytes, data []byte) {
	reply.ptr = (*C.uint8_t)(C.CBytes(data))
	reply.len = C.size_t(len(data))
}

func errorReply(err error) []byte {
	data, _ := json.Marshal(map[string]string{"error": err.Error()})
	return data
}
