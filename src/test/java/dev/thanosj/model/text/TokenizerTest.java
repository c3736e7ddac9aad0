package dev.thanosj.model.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.thanosj.ThanosjException;
import dev.thanosj.model.bert.MiniLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = MiniLm.tokenizer(16);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void encodesWithTheModelsVocabularyAndSpecialTokens() {
        // bert-base-uncased vocabulary: hello = 7592, world = 2088, "!" = 999
        assertArrayEquals(new int[] {101, 7592, 2088, 999, 102}, tokenizer.encode("Hello world!"));
        assertArrayEquals(new int[] {101, 102}, tokenizer.encode(""));
    }

    @Test
    void truncatesKeepingClsAndSep() {
        int[] ids = tokenizer.encode("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen");
        assertEquals(16, ids.length);
        assertEquals(101, ids[0]);
        assertEquals(102, ids[15]);
    }

    @Test
    void batchesSequencesOfDifferentLengthsWithoutPadding() {
        TokenBatch batch = tokenizer.encode(List.of("Hello world!", "a"));
        assertEquals(2, batch.size());
        assertEquals(5, batch.length(0));
        assertEquals(3, batch.length(1));
        assertEquals(5, batch.offset(1));
        assertEquals(8, batch.totalTokens());
        assertArrayEquals(new long[] {1, 1, 1, 0, 0}, batch.attentionMask()[1]);
        assertArrayEquals(new long[] {101, 1037, 102, 0, 0}, batch.inputIds()[1]);
        assertArrayEquals(new long[] {0, 0, 0, 0, 0}, batch.tokenTypeIds()[0]);
        assertArrayEquals(new int[] {101, 1037, 102}, batch.slice(1, 2).ids(0));
    }

    @Test
    void rejectsASequenceLengthWithoutRoomForSpecialTokens() {
        assertThrows(ThanosjException.class, () -> MiniLm.tokenizer(1));
    }

    @Test
    void readsTheTokenizerFromAFile(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("tokenizer.json");
        try (var in = MiniLm.class.getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            Files.copy(in, json);
        }
        try (Tokenizer fromFile = Tokenizer.fromFile(json, 128)) {
            assertArrayEquals(tokenizer.encode("Hello world!"), fromFile.encode("Hello world!"));
            assertTrue(fromFile.toString().contains("tokenizer.json"));
        }
    }
}
