package main

import "github.com/spf13/cobra"

func newDeliveriesCommand(e cliEnv) *cobra.Command { return &cobra.Command{Use: "deliveries"} }
func newTraceCommand(e cliEnv) *cobra.Command      { return &cobra.Command{Use: "trace"} }
func newReplayCommand(e cliEnv) *cobra.Command     { return &cobra.Command{Use: "replay"} }
func newRecoverCommand(e cliEnv) *cobra.Command    { return &cobra.Command{Use: "recover"} }
