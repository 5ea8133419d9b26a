// Command authmail-custom is authmail with one more connector: the
// built-in ones and the example Resend connector. It is the whole of a
// custom build.
package main

import (
	authmailcmd "github.com/authmail/authmail/cmd"

	_ "example.com/customconnector/resend"               // the custom connector
	_ "github.com/authmail/authmail/connectors/standard" // every built-in connector
)

func main() { authmailcmd.Main() }
