/**
 * The {@code thanosj} command line (picocli): {@link dev.thanosj.cli.Main} holds the top command, its
 * global options and the exit-code policy (0 success, 2 user error with a one-line message, 1 bug with
 * the stack trace); each subcommand is its own class, registered in {@code Main}'s {@code subcommands}.
 */
package dev.thanosj.cli;
