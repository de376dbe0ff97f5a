package dbclone

import (
	"os/exec"
	"testing"
)

// TestScriptsParse: every helper script is valid bash (the integration
// tests run each one against a real server; this says which line broke
// without one).
func TestScriptsParse(t *testing.T) {
	for name, script := range map[string]string{
		"load": loadScript, "copy": copyScript, "logical": logicalScript, "probe": probeScript, "size": sizeScript,
		"mariadb load": mariadbLoadScript, "mariadb logical": mariadbLogicalScript, "mariadb root": mariadbRootScript,
		"settle": settleScript,
	} {
		if out, err := exec.Command("bash", "-n", "-c", script).CombinedOutput(); err != nil {
			t.Errorf("%s script: %v\n%s", name, err, out)
		}
	}
}
