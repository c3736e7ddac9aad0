/**
 * The one worker pool of the library: a {@link java.util.concurrent.ForkJoinPool} sized by the user's
 * {@code --threads} (default: available processors) that runs row-parallel loops.
 */
package dev.thanosj.concurrent;
