using System.Collections;

namespace TcpKit.Net.Host;

/// <summary>
/// The host's demultiplexing table: 4-tuple to connection, open addressing with linear probing over an
/// array of connections (each connection carries its own key and hash), so a connection costs one array
/// slot instead of a dictionary entry holding a copy of its 4-tuple, and adding or removing one allocates
/// nothing. The hash is keyed with a per-host secret so a peer cannot aim many 4-tuples at one slot.
/// It grows with the number of connections and never shrinks.
/// Each slot's hash sits in a parallel array (0 marks an empty slot; no hash is 0), so a probe reads only
/// that array until a hash matches, and neither the probe past other connections nor the backward shift
/// after a removal reads a connection's memory or the slot array: with tens of thousands of connections in
/// TIME-WAIT each such read would be a cache miss.
/// </summary>
internal sealed class ConnectionTable : IEnumerable<HostConnection>
{
    private const int MinCapacity = 16;

    private readonly ulong _secret;
    private HostConnection?[] _slots = new HostConnection?[MinCapacity];
    private int[] _hashes = new int[MinCapacity];
    private int _count;

    public ConnectionTable(ulong secret) => _secret = secret;

    public int Count => _count;

    public int Hash(in FlowKey key)
    {
        ulong h = _secret ^ ((ulong)key.LocalPort << 16 | key.RemotePort);
        h = Mix(h ^ key.RemoteAddress.Low);
        h = Mix(h ^ key.RemoteAddress.High);
        h = Mix(h ^ key.LocalAddress.Low);
        h = Mix(h ^ key.LocalAddress.High);
        int hash = (int)(h ^ (h >> 32));
        return hash == 0 ? 1 : hash; // 0 marks an empty slot
    }

    public bool TryGetValue(in FlowKey key, out HostConnection connection) => TryGetValue(key, Hash(key), out connection);

    public bool TryGetValue(in FlowKey key, int hash, out HostConnection connection)
    {
        var slots = _slots;
        var hashes = _hashes;
        int mask = slots.Length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask)
        {
            int h = hashes[i];
            if (h == 0)
            {
                connection = null!;
                return false;
            }

            if (h == hash && slots[i]!.Key == key)
            {
                connection = slots[i]!;
                return true;
            }
        }
    }

    public bool ContainsKey(in FlowKey key) => TryGetValue(key, out _);

    /// <summary>Adds a connection whose key is not in the table yet (the caller checked).</summary>
    public void Add(HostConnection connection)
    {
        // Keep the load at most 1/2 so probe sequences stay short.
        if ((_count + 1) * 2 > _slots.Length)
        {
            Resize(_slots.Length * 2);
        }

        LinearProbing.Insert(_hashes, _slots, connection.Hash, connection);
        _count++;
    }

    public bool Remove(HostConnection connection)
    {
        var slots = _slots;
        var hashes = _hashes;
        int mask = slots.Length - 1;
        int hash = connection.Hash;
        int i = hash & mask;
        while (true)
        {
            int h = hashes[i];
            if (h == 0)
            {
                return false;
            }

            if (h == hash && ReferenceEquals(slots[i], connection))
            {
                break;
            }

            i = (i + 1) & mask;
        }

        LinearProbing.RemoveAt(hashes, slots, i);
        _count--;
        // The table keeps its size when connections end, as Linux's established hash does: a host that once
        // held n connections is likely to again, and shrinking then growing back would reallocate arrays of
        // large-object-heap size (each such allocation counts towards a full collection). It holds at most
        // 12 bytes per slot, about 24 per connection at the peak.
        return true;
    }

    private void Resize(int capacity)
    {
        var old = _slots;
        var slots = new HostConnection?[capacity];
        var hashes = new int[capacity];
        foreach (var c in old)
        {
            if (c is not null)
            {
                LinearProbing.Insert(hashes, slots, c.Hash, c);
            }
        }

        _slots = slots;
        _hashes = hashes;
    }

    private static ulong Mix(ulong x)
    {
        // The finaliser of SplitMix64 / MurmurHash3: every input bit affects every output bit.
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    public IEnumerator<HostConnection> GetEnumerator()
    {
        // A snapshot, so callers may close connections while enumerating.
        var list = new List<HostConnection>(_count);
        foreach (var c in _slots)
        {
            if (c is not null)
            {
                list.Add(c);
            }
        }

        return list.GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
