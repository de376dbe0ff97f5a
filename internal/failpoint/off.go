//go:build !failpoint || !unix

package failpoint

// Enabled says whether this build can kill itself at points.
const Enabled = false

// Hit does nothing: this build has no failpoints.
func Hit(string) {}

// HelperEnv is nothing: this build has no failpoints.
func HelperEnv() []string { return nil }
