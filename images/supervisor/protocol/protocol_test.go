package protocol

import (
	"net/http/httptest"
	"testing"
)

func TestErrorRoundTrip(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, 409, "task-9 is already done")
	e, ok := DecodeError(w.Body.Bytes())
	if !ok || w.Code != 409 || e.Status != 409 || e.Error() != "task-9 is already done" {
		t.Fatalf("%d %+v %v", w.Code, e, ok)
	}
	for _, b := range []string{`{"message":"x"}`, `not json`, `{"type":"error","message":"x"}`} {
		if _, ok := DecodeError([]byte(b)); ok {
			t.Errorf("%s taken for an Error", b)
		}
	}
}
