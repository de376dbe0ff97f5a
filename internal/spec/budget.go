package spec

import (
	"fmt"

	"go.yaml.in/yaml/v4"
)

// A definition is other people's input: these bound what reading it may
// cost before any of Berth's walkers (or compose-go) start.
const (
	// maxDefinitionFile is the largest manifest, Compose or env file read.
	maxDefinitionFile = 8 << 20
	// maxExpandedNodes is how many YAML nodes a file may stand for once its
	// aliases are expanded (a 100-service Compose file is ~10,000). Aliases
	// to aliases multiply: 9 levels of 9 references each make 387 million
	// nodes from a file of a few hundred bytes.
	maxExpandedNodes = 1_000_000
)

// expandedSize counts the nodes of root with every alias expanded, stopping
// as soon as the count passes limit; each node is counted once however
// many aliases lead to it (memo), so this costs one visit per node.
func expandedSize(root *yaml.Node, limit int) int {
	memo := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if v, ok := memo[n]; ok {
			return v
		}
		if depth > 10_000 {
			return limit + 1 // nested beyond reason (or an alias cycle)
		}
		memo[n] = limit + 1 // a cycle back to n counts as over the limit
		total := 1
		if n.Kind == yaml.AliasNode {
			total += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if total > limit {
				break
			}
			total += size(c, depth+1)
		}
		memo[n] = total
		return total
	}
	return size(root, 0)
}

// checkBudget refuses a parsed document that expands beyond
// maxExpandedNodes.
func checkBudget(file string, docs ...*yaml.Node) *Error {
	total := 0
	for _, d := range docs {
		total += expandedSize(d, maxExpandedNodes)
		if total > maxExpandedNodes {
			line := 0
			if d != nil {
				line = d.Line
			}
			return &Error{File: file, Line: line,
				Message: fmt.Sprintf("YAML aliases expand this file to more than %d nodes; Berth reads no further (write the repeated parts out, or use fewer levels of aliases)", maxExpandedNodes)}
		}
	}
	return nil
}

// checkSize refuses a file larger than maxDefinitionFile.
func checkSize(file string, size int64) *Error {
	if size > maxDefinitionFile {
		return &Error{File: file, Message: fmt.Sprintf("%d bytes: larger than the %d a definition's file may be", size, maxDefinitionFile)}
	}
	return nil
}
