// Package spec reads definitions and turns them into desired state.
//
// A definition is a folder holding a manifest, berth.yaml (see Manifest and
// docs/berth.schema.json), and ordinary Compose files. LoadDefinition reads
// both, loads the Compose files with compose-go (interpolation, profiles,
// several files merged, env files) and normalises the result into a
// Project: sorted, with absolute paths, engine names and one hash per
// service, so that the planner can compare it with what runs. Nothing else
// in Berth imports compose-go.
//
// Problems in a definition come back as *Error (or Errors), each naming
// the file, the line and the field, as in
//
//	environments/shop/compose.yaml:12: services.api.depends_on.dbx: service "api" depends on undefined service "dbx" (did you mean "db"?)
//
// compose-go reports most problems as a dotted path, or a message naming a
// service, without a line: the Compose files are parsed once more into YAML
// nodes (in parallel with compose-go's own load), and the path is looked up
// there. The same nodes are walked for Compose keys Berth does not act on,
// each of which becomes a Warning in Project.Warnings rather than being
// dropped silently.
package spec
