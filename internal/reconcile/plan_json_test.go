package reconcile

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpJSONSaysDestructive: the app marks ops by the destructive flag
// the server writes, so every kind's flag must match Destructive.
func TestOpJSONSaysDestructive(t *testing.T) {
	for _, k := range []OpKind{OpCreateNetwork, OpRemoveNetwork, OpCreateVolume, OpRemoveVolume, OpPullImage, OpBuildImage,
		OpCreateContainer, OpRecreate, OpStartContainer, OpStopContainer, OpRemoveContainer} {
		b, err := json.Marshal(Op{ID: 1, Kind: k, Resource: "r", Cause: "c"})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), `"destructive":true`); got != k.Destructive() {
			t.Errorf("%s: JSON %s, want destructive %v", k, b, k.Destructive())
		}
		var back Op
		if err := json.Unmarshal(b, &back); err != nil || back.Kind != k || back.Resource != "r" {
			t.Errorf("%s: read back %+v, %v", k, back, err)
		}
	}
}
