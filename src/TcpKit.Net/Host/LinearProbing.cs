namespace TcpKit.Net.Host;

/// <summary>
/// Open addressing with linear probing over a power-of-two array of hashes (0 marks an empty slot; no hash is 0)
/// and a parallel array of values, shared by the host's <see cref="ConnectionTable"/> and <see cref="TimeWaitTable"/>.
/// Neither the insertion nor the backward shift after a removal reads a value: only the hash array, so walking
/// past tens of thousands of other connections never touches their memory.
/// </summary>
internal static class LinearProbing
{
    /// <summary>Puts <paramref name="value"/> in the first empty slot of its probe run (the caller keeps the load under one half).</summary>
    public static void Insert<T>(int[] hashes, T[] values, int hash, T value)
    {
        int mask = hashes.Length - 1;
        int i = hash & mask;
        while (hashes[i] != 0)
        {
            i = (i + 1) & mask;
        }

        hashes[i] = hash;
        values[i] = value;
    }

    /// <summary>
    /// Empties slot <paramref name="index"/> by backward-shift deletion: later members of the probe run move into the
    /// hole, so lookups need no tombstones and a run never grows from removals.
    /// </summary>
    public static void RemoveAt<T>(int[] hashes, T[] values, int index)
    {
        int mask = hashes.Length - 1;
        int hole = index;
        for (int j = (hole + 1) & mask; hashes[j] != 0; j = (j + 1) & mask)
        {
            int home = hashes[j] & mask;
            // slot j may move into the hole only if its home slot is not in the cyclic range (hole, j].
            bool homeInRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
            if (!homeInRange)
            {
                hashes[hole] = hashes[j];
                values[hole] = values[j];
                hole = j;
            }
        }

        hashes[hole] = 0;
        values[hole] = default!;
    }
}
