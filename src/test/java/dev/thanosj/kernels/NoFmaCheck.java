package dev.thanosj.kernels;

import dev.thanosj.ThanosjException;

/**
 * Run by {@link KernelsProviderFmaTest} in a JVM started with {@code -XX:-UseFMA}: prints the kernels and
 * activations chosen by default and what forcing the Vector API ones says.
 */
public final class NoFmaCheck {
    private NoFmaCheck() {
    }

    public static void main(String[] args) {
        System.out.println("kernels " + Kernels.get().name());
        System.out.println("activations " + ActivationsProvider.get().getClass().getSimpleName());
        try {
            KernelsProvider.create("panama");
            System.out.println("panama created");
        } catch (ThanosjException e) {
            System.out.println("refused: " + e.getMessage());
        }
    }
}
