package main

import "github.com/spf13/cobra"

func newRecoverCommand(e cliEnv) *cobra.Command { return &cobra.Command{Use: "recover", Hidden: true} }
