package dev.thanosj.model.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrationTextTest {
    @TempDir
    Path tmp;

    @Test
    void readsOneDocumentPerNonEmptyLine() throws IOException {
        Path file = tmp.resolve("text.txt");
        Files.writeString(file, "first  document\n\n   \nsecond\tone\r\nthird\n");
        assertEquals(List.of("first document", "second one", "third"), CalibrationText.read(file));
    }

    @Test
    void rejectsAnEmptyFileNamingIt() throws IOException {
        Path file = tmp.resolve("blank.txt");
        Files.writeString(file, "\n  \n\n");
        ThanosjException e = assertThrows(ThanosjException.class, () -> CalibrationText.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("empty"), e.getMessage());
        ThanosjException missing = assertThrows(ThanosjException.class, () -> CalibrationText.read(tmp.resolve("none.txt")));
        assertTrue(missing.getMessage().contains("none.txt"));
    }

    @Test
    void samplingIsDeterministicForASeed() {
        List<String> docs = IntStream.range(0, 100).mapToObj(i -> "doc " + i).toList();
        List<String> a = CalibrationText.sample(docs, 10, 42);
        assertEquals(a, CalibrationText.sample(docs, 10, 42));
        assertNotEquals(a, CalibrationText.sample(docs, 10, 43));
        assertEquals(10, new HashSet<>(a).size());
        List<Integer> indices = a.stream().map(s -> Integer.parseInt(s.substring(4))).toList();
        assertEquals(indices.stream().sorted().toList(), indices, "kept in file order");
    }

    @Test
    void takesEveryDocumentInOrderWhenAskedForAtLeastAll() {
        List<String> docs = List.of("c", "a", "b");
        assertEquals(docs, CalibrationText.sample(docs, 3, 1));
        assertEquals(docs, CalibrationText.sample(docs, 1000, 1));
        assertThrows(ThanosjException.class, () -> CalibrationText.sample(docs, 0, 1));
    }

    @Test
    void europarlEnglishIsSplitIntoDisjointCalibrationAndEvaluationHalves() {
        List<String> english = CalibrationText.europarlEnglish();
        assertTrue(english.size() > 1200 && english.size() < 1400, "English documents: " + english.size());
        List<String> calibration = CalibrationText.defaultCalibration();
        List<String> evaluation = CalibrationText.defaultEvaluation();
        assertEquals(english.size(), calibration.size() + evaluation.size());
        assertEquals(english.get(0), calibration.get(0));
        assertEquals(english.get(1), evaluation.get(0));
        Set<String> overlap = new HashSet<>(calibration);
        overlap.retainAll(new HashSet<>(evaluation));
        assertTrue(overlap.isEmpty(), overlap.size() + " documents in both halves");
        assertTrue(CalibrationText.isEnglish("We are voting on the report of the committee, which is in favour of it."));
        assertFalse(CalibrationText.isEnglish("Ich freue mich sehr, daß Herr Bertens hier ist, denn er hat auch an der Aussprache teilgenommen."));
    }
}
