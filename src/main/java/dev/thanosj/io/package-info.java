/**
 * Safe output: files and folders are written under a temporary sibling name and renamed into place
 * only when complete, so an interrupted or failed run never leaves a half-written output.
 */
package dev.thanosj.io;
