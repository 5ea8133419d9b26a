// Command authmail serves email verification codes through the email
// connector of your choice. It is authmailcmd.Main with the built-in
// connectors; a custom build is the same file with more imports (see
// examples/customconnector). authmail help lists the commands.
package main

import (
	authmailcmd "github.com/authmail/authmail/cmd"

	_ "github.com/authmail/authmail/connectors/standard" // every built-in connector
)

func main() { authmailcmd.Main() }
