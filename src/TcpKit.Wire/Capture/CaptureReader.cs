using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace TcpKit.Wire.Capture;

/// <summary>
/// Reads pcap and pcapng files, sniffing the format from the magic number. One packet per
/// <see cref="TryRead"/>, parsed in place (memory-mapped file, caller memory, or one reusable
/// bounded buffer for streams); nothing is allocated per packet.
/// </summary>
/// <remarks>
/// Rules for bad input (a <see cref="CaptureFormatException"/> names the offset of the record/block):
/// <list type="bullet">
/// <item>Captured lengths above 256 KiB are always an error. A captured length above the interface's
/// snapshot length (but within 256 KiB) is accepted and the packet delivered whole, as Wireshark
/// does; it is only counted in <see cref="CaptureCounters.CapturedLengthAboveSnapLength"/>.</item>
/// <item>In lenient mode a block whose framing is intact but whose content is bad is skipped by its
/// length; after damaged framing the reader scans forward (at most one maximal block) for the next
/// plausible record/block and stops if there is none; a truncated tail stops the reader. A section
/// of an unsupported version is skipped up to the next section header (pcapng section 4.1).</item>
/// <item>File-level damage (unknown magic, truncated file header or first section header,
/// unsupported version there) always throws, lenient or not.</item>
/// </list>
/// Other decisions: pcap thiszone/sigfigs are ignored (as libpcap and Wireshark do). Simple packet
/// blocks take min(original length, snaplen, block room) bytes and carry no timestamp. Custom (0xBAD),
/// decryption-secrets, systemd-journal and unknown blocks are skipped and counted in
/// <see cref="CaptureCounters.OtherBlocksSkipped"/> (tshark lists custom blocks as records of their own).
/// Timestamps are floored to whole nanoseconds with integer arithmetic and saturate at the range of
/// <see cref="long"/>.
/// </remarks>
public sealed class CaptureReader : IDisposable
{
    private const int MaxCaptured = CaptureReadOptions.MaxCapturedLength;
    private const int MaxBlock = CaptureReadOptions.MaxBlockLength;
    private const int MaxInterfaces = 65_536;
    private const int MaxNameRecords = 65_536;
    private const long NsPerSecond = 1_000_000_000;

    private const uint ShbType = 0x0A0D0D0A;
    private const uint IdbType = 1;
    private const uint PbType = 2;
    private const uint SpbType = 3;
    private const uint NrbType = 4;
    private const uint IsbType = 5;
    private const uint EpbType = 6;
    private const uint JournalType = 9;
    private const uint DsbType = 0x0A;
    private const uint CustomType = 0x0BAD;
    private const uint CustomNoCopyType = 0x40000BAD;

    private readonly ByteSource _src;
    private readonly bool _lenient;
    private readonly List<CaptureInterface> _interfaces = [];
    private readonly List<NameResolutionRecord> _names = [];
    private long _pos;
    private bool _big;
    private bool _done;
    private bool _inFileHeader;
    private bool _skippingSection;

    // pcap
    private bool _nano;
    private uint _snap;
    private LinkType _pcapLinkType;
    private uint _lastSeconds;
    private bool _havePacket;

    // pcapng: interfaces of the current section are _interfaces[_sectionFirst .. _sectionFirst + _sectionCount).
    private int _sectionIndex = -1;
    private int _sectionFirst;
    private int _sectionCount;

    private CaptureReader(ByteSource src, CaptureReadOptions options, string? path)
    {
        _src = src;
        _lenient = options.Lenient;
        Path = path;
        try
        {
            ReadFileHeader();
        }
        catch
        {
            src.Dispose();
            throw;
        }
    }

    /// <summary>Opens a file; regular files are memory-mapped unless <see cref="CaptureReadOptions.Access"/> says otherwise.</summary>
    public static CaptureReader Open(string path, CaptureReadOptions? options = null)
    {
        options ??= CaptureReadOptions.Default;
        if (options.Access == CaptureAccess.InMemory)
        {
            throw new ArgumentException("InMemory access needs Open(ReadOnlyMemory<byte>)", nameof(options));
        }

        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        ByteSource src;
        try
        {
            // An empty file cannot be mapped; it is read as a stream and reported as truncated.
            bool map = options.Access != CaptureAccess.Streaming && file.CanSeek && file.Length > 0;
            src = map ? new MappedSource(file, leaveOpen: false) : new StreamSource(file, leaveOpen: false);
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return new CaptureReader(src, options, path);
    }

    /// <summary>
    /// Reads from a stream (offsets count from its current position). Streams are read through a
    /// buffer unless <see cref="CaptureAccess.MemoryMapped"/> is asked for a <see cref="FileStream"/>
    /// (then offsets count from the start of the file).
    /// </summary>
    public static CaptureReader Open(Stream stream, CaptureReadOptions? options = null, bool leaveOpen = false)
    {
        options ??= CaptureReadOptions.Default;
        ByteSource src = options.Access switch
        {
            CaptureAccess.MemoryMapped when stream is FileStream fs && fs.Length > 0 => new MappedSource(fs, leaveOpen),
            CaptureAccess.MemoryMapped when stream is not FileStream => throw new ArgumentException("memory mapping needs a FileStream", nameof(stream)),
            CaptureAccess.InMemory => throw new ArgumentException("InMemory access needs Open(ReadOnlyMemory<byte>)", nameof(options)),
            _ => new StreamSource(stream, leaveOpen),
        };
        return new CaptureReader(src, options, (stream as FileStream)?.Name);
    }

    /// <summary>Parses a capture held in memory, in place. The memory must stay unchanged while the reader is used.</summary>
    public static CaptureReader Open(ReadOnlyMemory<byte> data, CaptureReadOptions? options = null) =>
        new(new MemorySource(data), options ?? CaptureReadOptions.Default, null);

    public CaptureFormat Format { get; private set; }

    /// <summary>How the bytes are being read (never <see cref="CaptureAccess.Auto"/>).</summary>
    public CaptureAccess Access => _src.Access;

    public string? Path { get; }

    /// <summary>Offset of the next record or block: how far into the input the reader has got (for progress).</summary>
    public long Position => _pos;

    /// <summary>Bytes in the input (from where reading started), or -1 when unknown (a pipe).</summary>
    public long Length => _src.Length;

    /// <summary>Every interface seen so far, file-wide (pcap: exactly one).</summary>
    public IReadOnlyList<CaptureInterface> Interfaces => _interfaces;

    /// <summary>IPv4/IPv6 records from pcapng name resolution blocks seen so far (at most 65536 kept).</summary>
    public IReadOnlyList<NameResolutionRecord> NameRecords => _names;

    /// <summary>The current section (pcap: the file header).</summary>
    public CaptureSection CurrentSection { get; private set; } = null!;

    /// <summary>Sections seen so far (pcap: 1).</summary>
    public int SectionCount => _sectionIndex + 1;

    public CaptureCounters Counters { get; } = new();

    /// <summary>
    /// Reads the next packet. Returns false at the end of the file (or, in lenient mode, where
    /// damage could not be skipped). <paramref name="packet"/> is valid until the next call.
    /// </summary>
    public bool TryRead(out CapturedPacket packet)
    {
        while (!_done)
        {
            bool got = Format == CaptureFormat.Pcap ? NextPcapRecord(out packet) : NextPcapngBlock(out packet);
            if (got)
            {
                Counters.PacketsRead++;
                return true;
            }
        }

        packet = default;
        return false;
    }

    /// <summary>Lets <c>foreach (var packet in reader)</c> read to the end; same rules as <see cref="TryRead"/>.</summary>
    public PacketEnumerator GetEnumerator() => new(this);

    public void Dispose() => _src.Dispose();

    /// <summary>Allocation-free enumerator over the remaining packets.</summary>
    public ref struct PacketEnumerator
    {
        private readonly CaptureReader _reader;
        private CapturedPacket _current;

        internal PacketEnumerator(CaptureReader reader)
        {
            _reader = reader;
            _current = default;
        }

        public readonly CapturedPacket Current => _current;

        public bool MoveNext() => _reader.TryRead(out _current);
    }

    // ---- file header -------------------------------------------------------------------------

    private void ReadFileHeader()
    {
        var magic = _src.Get(0, 4);
        if (magic.Length < 4)
        {
            throw new CaptureFormatException(CaptureErrorKind.TruncatedFileHeader, 0,
                $"file too short for a capture file header ({magic.Length} bytes)");
        }

        switch (BinaryPrimitives.ReadUInt32LittleEndian(magic))
        {
            case 0xA1B2C3D4: ReadPcapHeader(bigEndian: false, nano: false); break;
            case 0xD4C3B2A1: ReadPcapHeader(bigEndian: true, nano: false); break;
            case 0xA1B23C4D: ReadPcapHeader(bigEndian: false, nano: true); break;
            case 0x4D3CB2A1: ReadPcapHeader(bigEndian: true, nano: true); break;
            case ShbType: ReadFirstSection(); break;
            default:
                throw new CaptureFormatException(CaptureErrorKind.UnknownMagic, 0,
                    $"unknown magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(magic):X8} (neither pcap nor pcapng)");
        }
    }

    private void ReadPcapHeader(bool bigEndian, bool nano)
    {
        Format = CaptureFormat.Pcap;
        _big = bigEndian;
        _nano = nano;
        var h = _src.Get(0, 24);
        if (h.Length < 24)
        {
            throw new CaptureFormatException(CaptureErrorKind.TruncatedFileHeader, 0,
                $"pcap file header truncated ({h.Length} of 24 bytes)");
        }

        ushort major = U16(h[4..]);
        ushort minor = U16(h[6..]);
        if (major != 2)
        {
            throw new CaptureFormatException(CaptureErrorKind.UnsupportedVersion, 0,
                $"pcap version {major}.{minor} is not supported (only 2.x)");
        }

        _snap = U32(h[16..]);
        // The link-type field's upper bits carry FCS information (draft-ietf-opsawg-pcap section 4):
        // bits 28-31 the FCS length in 16-bit words, valid when bit 26 is set. The link type is the low 16 bits.
        uint field = U32(h[20..]);
        _pcapLinkType = (LinkType)(field & 0xFFFF);
        var iface = new CaptureInterface(0, 0, 0, _pcapLinkType, _snap, (byte)(nano ? 9 : 6), 0);
        if ((field & 0x0400_0000) != 0)
        {
            iface.FcsLength = (int)(field >> 28) * 2;
        }

        _interfaces.Add(iface);
        _sectionIndex = 0;
        _sectionCount = 1;
        CurrentSection = new CaptureSection(0, 0, bigEndian, major, minor, null, null, null, null);
        _pos = 24;
    }

    private void ReadFirstSection()
    {
        Format = CaptureFormat.Pcapng;
        _inFileHeader = true;
        var r = ReadBlockFrame(out uint type, out var block, out bool big, out long at);
        if (r != Frame.Ok || type != ShbType)
        {
            throw new InvalidOperationException("the first pcapng block was neither read nor rejected");
        }

        HandleSectionHeader(at, block, big);
        _inFileHeader = false;
    }

    // ---- pcap records ------------------------------------------------------------------------

    private bool NextPcapRecord(out CapturedPacket packet)
    {
        packet = default;
        long at = _pos;
        var h = _src.Get(at, 16);
        if (h.Length == 0)
        {
            _done = true;
            return false;
        }

        if (h.Length < 16)
        {
            Stop(CaptureErrorKind.TruncatedRecord, at, $"record header truncated ({h.Length} of 16 bytes)");
            return false;
        }

        uint seconds = U32(h);
        uint fraction = U32(h[4..]);
        uint captured = U32(h[8..]);
        uint original = U32(h[12..]);
        if (captured > MaxCaptured)
        {
            Reject(CaptureErrorKind.CapturedLengthTooLarge, at, $"record captured length {captured} exceeds {MaxCaptured}");
            ResyncPcap(at);
            return false;
        }

        var record = _src.Get(at, 16 + (int)captured);
        if (record.Length < 16 + captured)
        {
            Stop(CaptureErrorKind.TruncatedRecord, at, $"record truncated: captured length {captured} but the file ends after {record.Length - 16} bytes");
            return false;
        }

        _pos = at + 16 + captured;
        if (_snap != 0 && captured > _snap)
        {
            Counters.CapturedLengthAboveSnapLength++;
        }

        _lastSeconds = seconds;
        _havePacket = true;
        long ns = (long)seconds * NsPerSecond + (_nano ? fraction : (long)fraction * 1000);
        packet = new CapturedPacket(record.Slice(16, (int)captured), original, ns, true, 0, _pcapLinkType, at,
            Counters.PacketsRead, 0, false, default);
        return true;
    }

    /// <summary>
    /// pcap has no markers, so after a bad record header look (byte by byte, within one maximal
    /// record) for a header that is plausible and followed by another plausible header or the end.
    /// </summary>
    private void ResyncPcap(long badAt)
    {
        long limit = badAt + 16 + MaxCaptured + 16;
        for (long c = badAt + 1; c <= limit; c++)
        {
            var h = _src.Get(c, 16);
            if (h.Length < 16)
            {
                break;
            }

            if (!PlausiblePcapHeader(h, out uint captured))
            {
                continue;
            }

            var span = _src.Get(c, 32 + (int)captured);
            if (span.Length == 16 + captured || (span.Length == 32 + captured && PlausiblePcapHeader(span[(16 + (int)captured)..], out _)))
            {
                _pos = c;
                return;
            }
        }

        _done = true;
    }

    private bool PlausiblePcapHeader(ReadOnlySpan<byte> h, out uint captured)
    {
        uint seconds = U32(h);
        uint fraction = U32(h[4..]);
        captured = U32(h[8..]);
        uint original = U32(h[12..]);
        uint maxCaptured = _snap != 0 && _snap < MaxCaptured ? _snap : MaxCaptured;
        return fraction < (_nano ? 1_000_000_000u : 1_000_000u)
            && captured <= maxCaptured
            && original >= captured
            && original <= 16 * 1024 * 1024
            && (!_havePacket || Math.Abs((long)seconds - _lastSeconds) <= 86_400);
    }

    // ---- pcapng blocks -----------------------------------------------------------------------

    private enum Frame
    {
        Ok,
        End,
        Handled,
    }

    private bool NextPcapngBlock(out CapturedPacket packet)
    {
        packet = default;
        var r = ReadBlockFrame(out uint type, out var block, out bool big, out long at);
        if (r == Frame.End)
        {
            _done = true;
            return false;
        }

        if (r == Frame.Handled)
        {
            return false;
        }

        if (_skippingSection && type != ShbType)
        {
            Counters.OtherBlocksSkipped++;
            return false;
        }

        switch (type)
        {
            case EpbType:
                return PacketBlock(at, block, enhanced: true, out packet);
            case PbType:
                return PacketBlock(at, block, enhanced: false, out packet);
            case SpbType:
                return SimplePacketBlock(at, block, out packet);
            case IdbType:
                InterfaceDescription(at, block);
                return false;
            case ShbType:
                HandleSectionHeader(at, block, big);
                return false;
            case NrbType:
                NameResolution(at, block);
                return false;
            case IsbType:
                InterfaceStatisticsBlock(at, block);
                return false;
            default:
                Counters.OtherBlocksSkipped++;
                return false;
        }
    }

    private static bool IsKnownBlockType(uint type) => type is ShbType or IdbType or PbType or SpbType or NrbType
        or IsbType or EpbType or JournalType or DsbType or CustomType or CustomNoCopyType;

    /// <summary>Minimum total length for each block type (pcapng draft section 4).</summary>
    private static uint MinLength(uint type) => type switch
    {
        ShbType => 28,
        IdbType => 20,
        EpbType => 32,
        PbType => 32,
        SpbType => 16,
        IsbType => 24,
        _ => 12,
    };

    private static bool MustParse(uint type) => type is ShbType or IdbType or PbType or SpbType or EpbType;

    /// <summary>
    /// Reads and checks the framing of the block at _pos (total length, alignment, trailing length)
    /// and advances _pos past it. Handled means the block was skipped or the reader stopped.
    /// </summary>
    private Frame ReadBlockFrame(out uint type, out ReadOnlySpan<byte> block, out bool big, out long at)
    {
        at = _pos;
        block = default;
        big = _big;
        type = 0;
        var h = _src.Get(at, 12);
        if (h.Length == 0)
        {
            return Frame.End;
        }

        if (h.Length < 8)
        {
            Stop(CaptureErrorKind.TruncatedBlock, at, $"block header truncated ({h.Length} of 8 bytes)");
            return Frame.Handled;
        }

        type = U32(h, big);
        if (type == ShbType)
        {
            // The section header's own byte-order magic says how to read its length (section 4.1).
            if (h.Length < 12)
            {
                Stop(CaptureErrorKind.TruncatedBlock, at, $"section header block truncated ({h.Length} of 28 bytes)");
                return Frame.Handled;
            }

            uint bom = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
            if (bom == 0x1A2B3C4D)
            {
                big = false;
            }
            else if (bom == 0x4D3C2B1A)
            {
                big = true;
            }
            else
            {
                Reject(CaptureErrorKind.BadByteOrderMagic, at, $"section header byte-order magic 0x{BinaryPrimitives.ReadUInt32BigEndian(h[8..]):X8} is invalid");
                ResyncPcapng(at);
                return Frame.Handled;
            }
        }

        uint length = U32(h[4..], big);
        if (length < 12)
        {
            Reject(CaptureErrorKind.BlockLengthTooSmall, at, $"block length {length} is below the minimum of 12");
            ResyncPcapng(at);
            return Frame.Handled;
        }

        if (length % 4 != 0)
        {
            Reject(CaptureErrorKind.BlockLengthNotMultipleOf4, at, $"block length {length} is not a multiple of 4");
            ResyncPcapng(at);
            return Frame.Handled;
        }

        if (length > MaxBlock)
        {
            if (MustParse(type))
            {
                Reject(CaptureErrorKind.BlockTooLarge, at, $"block length {length} of block type 0x{type:X} exceeds {MaxBlock}");
                ResyncPcapng(at);
                return Frame.Handled;
            }

            // Blocks we do not parse may be any size: check the trailing length without buffering them.
            var tail = _src.Get(at + length - 4, 4);
            if (tail.Length < 4)
            {
                Stop(CaptureErrorKind.TruncatedBlock, at, $"block of length {length} truncated by the end of the file");
                return Frame.Handled;
            }

            if (U32(tail, big) != length)
            {
                // The window has moved past this block, so a forward search cannot start inside it.
                Stop(CaptureErrorKind.BlockLengthMismatch, at, $"block length {length} does not match trailing length {U32(tail, big)}");
                return Frame.Handled;
            }

            _pos = at + length;
            Counters.OtherBlocksSkipped++;
            return Frame.Handled;
        }

        block = _src.Get(at, (int)length);
        if (block.Length < length)
        {
            Stop(CaptureErrorKind.TruncatedBlock, at, $"block of length {length} truncated by the end of the file");
            return Frame.Handled;
        }

        uint trailer = U32(block[((int)length - 4)..], big);
        if (trailer != length)
        {
            Reject(CaptureErrorKind.BlockLengthMismatch, at, $"block length {length} does not match trailing length {trailer}");
            ResyncPcapng(at);
            return Frame.Handled;
        }

        // From here the framing is sound: any further problem skips just this block.
        _pos = at + length;
        uint min = MinLength(type);
        if (length < min)
        {
            Reject(CaptureErrorKind.BlockLengthTooSmall, at, $"block length {length} is below the minimum of {min} for block type 0x{type:X}");
            if (type == ShbType)
            {
                // Without a usable section header the following blocks cannot be interpreted.
                _done = true;
            }

            return Frame.Handled;
        }

        return Frame.Ok;
    }

    /// <summary>
    /// After damaged framing, look (4-byte aligned, within one maximal block) for a block of a
    /// known type whose leading and trailing lengths agree; stop if there is none.
    /// </summary>
    private void ResyncPcapng(long badAt)
    {
        if (_inFileHeader)
        {
            _done = true;
            return;
        }

        long limit = badAt + MaxBlock;
        for (long c = badAt + 4; c <= limit; c += 4)
        {
            var h = _src.Get(c, 12);
            if (h.Length < 12)
            {
                break;
            }

            bool big = _big;
            uint type = U32(h, big);
            if (!IsKnownBlockType(type))
            {
                continue;
            }

            if (type == ShbType)
            {
                uint bom = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
                if (bom is not (0x1A2B3C4D or 0x4D3C2B1A))
                {
                    continue;
                }

                big = bom == 0x4D3C2B1A;
            }

            uint length = U32(h[4..], big);
            if (length < MinLength(type) || length % 4 != 0 || length > MaxBlock)
            {
                continue;
            }

            var block = _src.Get(c, (int)length);
            if (block.Length == length && U32(block[((int)length - 4)..], big) == length)
            {
                _pos = c;
                return;
            }
        }

        _done = true;
    }

    private void HandleSectionHeader(long at, ReadOnlySpan<byte> block, bool big)
    {
        var body = Body(block);
        ushort major = big ? BinaryPrimitives.ReadUInt16BigEndian(body[4..]) : BinaryPrimitives.ReadUInt16LittleEndian(body[4..]);
        ushort minor = big ? BinaryPrimitives.ReadUInt16BigEndian(body[6..]) : BinaryPrimitives.ReadUInt16LittleEndian(body[6..]);
        if (major != 1)
        {
            // Section 4.1: a reader that cannot read a section's version skips everything up to the
            // next section header; every block still starts with type and length, so framing holds.
            Reject(CaptureErrorKind.UnsupportedVersion, at, $"pcapng section version {major}.{minor} is not supported (only 1.x)");
            _big = big;
            _skippingSection = true;
            return;
        }

        _skippingSection = false;

        string? hardware = null, os = null, application = null, comment = null;
        var options = new OptionReader(body[16..], big);
        while (options.Next(out ushort code, out var value))
        {
            switch (code)
            {
                case OptionReader.Comment: comment ??= Utf8(value); break;
                case 2: hardware = Utf8(value); break;
                case 3: os = Utf8(value); break;
                case 4: application = Utf8(value); break;
            }
        }

        if (options.Malformed)
        {
            // The section's byte order and version are sound, so keep it and count the bad options.
            Reject(CaptureErrorKind.MalformedOptions, at, "section header option runs past the end of the block");
        }

        _big = big;
        _sectionIndex++;
        _sectionFirst = _interfaces.Count;
        _sectionCount = 0;
        CurrentSection = new CaptureSection(_sectionIndex, at, big, major, minor, hardware, os, application, comment);
    }

    private void InterfaceDescription(long at, ReadOnlySpan<byte> block)
    {
        var body = Body(block);
        var linkType = (LinkType)U16(body);
        uint snap = U32(body[4..]);
        byte tsResolution = 6;
        long tsOffset = 0;
        string? name = null, description = null, comment = null;
        int? fcs = null;
        var options = new OptionReader(body[8..], _big);
        while (options.Next(out ushort code, out var value))
        {
            switch (code)
            {
                case OptionReader.Comment: comment ??= Utf8(value); break;
                case 2: name = Utf8(value); break;
                case 3: description = Utf8(value); break;
                case 9 when value.Length >= 1: tsResolution = value[0]; break;
                case 13 when value.Length >= 1: fcs = value[0]; break;
                case 14 when value.Length >= 8: tsOffset = (long)U64(value); break;
            }
        }

        if (options.Malformed)
        {
            Reject(CaptureErrorKind.MalformedOptions, at, "interface description option runs past the end of the block");
            return;
        }

        if (_interfaces.Count >= MaxInterfaces)
        {
            Reject(CaptureErrorKind.TooManyInterfaces, at, $"more than {MaxInterfaces} interface description blocks");
            return;
        }

        var iface = new CaptureInterface(_interfaces.Count, _sectionIndex, _sectionCount, linkType, snap, tsResolution, tsOffset)
        {
            Name = name,
            Description = description,
            Comment = comment,
            FcsLength = fcs,
        };
        _interfaces.Add(iface);
        _sectionCount++;
    }

    /// <summary>Enhanced packet block (section 4.3) or the obsolete packet block (appendix A).</summary>
    private bool PacketBlock(long at, ReadOnlySpan<byte> block, bool enhanced, out CapturedPacket packet)
    {
        packet = default;
        var body = Body(block);
        uint interfaceId = enhanced ? U32(body) : U16(body);
        uint tsHigh = U32(body[4..]);
        uint tsLow = U32(body[8..]);
        uint captured = U32(body[12..]);
        uint original = U32(body[16..]);
        if (interfaceId >= _sectionCount)
        {
            Reject(CaptureErrorKind.UnknownInterface, at, $"packet block refers to interface {interfaceId} but the section has {_sectionCount}");
            return false;
        }

        if (captured > MaxCaptured)
        {
            Reject(CaptureErrorKind.CapturedLengthTooLarge, at, $"block captured length {captured} exceeds {MaxCaptured}");
            return false;
        }

        int padded = ((int)captured + 3) & ~3;
        if (20 + padded > body.Length)
        {
            Reject(CaptureErrorKind.CapturedLengthBeyondBlock, at, $"captured length {captured} does not fit in a block of length {block.Length}");
            return false;
        }

        uint flags = 0;
        bool hasComment = false;
        ReadOnlySpan<byte> comment = default;
        var options = new OptionReader(body[(20 + padded)..], _big);
        while (options.Next(out ushort code, out var value))
        {
            if (code == OptionReader.Comment && !hasComment)
            {
                hasComment = true;
                comment = value;
            }
            else if (code == 2 && value.Length >= 4)
            {
                flags = U32(value); // epb_flags / pack_flags
            }
        }

        if (options.Malformed)
        {
            Reject(CaptureErrorKind.MalformedOptions, at, "packet block option runs past the end of the block");
            return false;
        }

        var iface = _interfaces[_sectionFirst + (int)interfaceId];
        if (iface.SnapLength != 0 && captured > iface.SnapLength)
        {
            Counters.CapturedLengthAboveSnapLength++;
        }

        long ns = iface.Scale.ToNanoseconds(((ulong)tsHigh << 32) | tsLow);
        packet = new CapturedPacket(body.Slice(20, (int)captured), original, ns, true, iface.Index, iface.LinkType, at,
            Counters.PacketsRead, flags, hasComment, comment);
        return true;
    }

    /// <summary>Simple packet block (section 4.4): interface 0, no timestamp, captured length implied.</summary>
    private bool SimplePacketBlock(long at, ReadOnlySpan<byte> block, out CapturedPacket packet)
    {
        packet = default;
        var body = Body(block);
        if (_sectionCount == 0)
        {
            Reject(CaptureErrorKind.UnknownInterface, at, "simple packet block but the section has no interface");
            return false;
        }

        var iface = _interfaces[_sectionFirst];
        uint original = U32(body);
        // Captured length = min(original length, snaplen), bounded by what the block holds.
        long captured = Math.Min(original, body.Length - 4);
        if (iface.SnapLength != 0)
        {
            captured = Math.Min(captured, iface.SnapLength);
        }

        if (captured > MaxCaptured)
        {
            Reject(CaptureErrorKind.CapturedLengthTooLarge, at, $"block captured length {captured} exceeds {MaxCaptured}");
            return false;
        }

        packet = new CapturedPacket(body.Slice(4, (int)captured), original, 0, false, iface.Index, iface.LinkType, at,
            Counters.PacketsRead, 0, false, default);
        return true;
    }

    /// <summary>Name resolution block (section 4.5): IPv4 and IPv6 records kept, others ignored.</summary>
    private void NameResolution(long at, ReadOnlySpan<byte> block)
    {
        var rest = Body(block);
        var found = new List<NameResolutionRecord>();
        while (true)
        {
            if (rest.Length < 4)
            {
                Reject(CaptureErrorKind.MalformedOptions, at, "name resolution block has no end-of-records marker");
                return;
            }

            ushort type = U16(rest);
            int length = U16(rest[2..]);
            if (type == 0)
            {
                break;
            }

            if (4 + length > rest.Length)
            {
                Reject(CaptureErrorKind.MalformedOptions, at, "name resolution record runs past the end of the block");
                return;
            }

            var value = rest.Slice(4, length);
            int addressLength = type == 1 ? 4 : type == 2 ? 16 : 0;
            if (addressLength != 0 && value.Length >= addressLength)
            {
                var names = new List<string>();
                var text = value[addressLength..];
                while (!text.IsEmpty)
                {
                    int nul = text.IndexOf((byte)0);
                    var name = nul < 0 ? text : text[..nul];
                    if (!name.IsEmpty)
                    {
                        names.Add(Utf8(name));
                    }

                    text = nul < 0 ? default : text[(nul + 1)..];
                }

                found.Add(new NameResolutionRecord(new IPAddress(value[..addressLength]), names, _sectionIndex));
            }

            rest = rest[Math.Min(4 + ((length + 3) & ~3), rest.Length)..];
        }

        foreach (var record in found)
        {
            if (_names.Count < MaxNameRecords)
            {
                _names.Add(record);
            }
            else
            {
                Counters.NameRecordsDropped++;
            }
        }
    }

    /// <summary>Interface statistics block (section 4.6): kept as the interface's latest statistics.</summary>
    private void InterfaceStatisticsBlock(long at, ReadOnlySpan<byte> block)
    {
        var body = Body(block);
        uint interfaceId = U32(body);
        if (interfaceId >= _sectionCount)
        {
            Reject(CaptureErrorKind.UnknownInterface, at, $"statistics block refers to interface {interfaceId} but the section has {_sectionCount}");
            return;
        }

        var iface = _interfaces[_sectionFirst + (int)interfaceId];
        long ts = iface.Scale.ToNanoseconds(((ulong)U32(body[4..]) << 32) | U32(body[8..]));
        long? start = null, end = null;
        ulong? received = null, dropped = null, accepted = null, osDropped = null, delivered = null;
        string? comment = null;
        var options = new OptionReader(body[12..], _big);
        while (options.Next(out ushort code, out var value))
        {
            if (code == OptionReader.Comment)
            {
                comment ??= Utf8(value);
                continue;
            }

            if (value.Length < 8)
            {
                continue;
            }

            switch (code)
            {
                case 2: start = iface.Scale.ToNanoseconds(((ulong)U32(value) << 32) | U32(value[4..])); break;
                case 3: end = iface.Scale.ToNanoseconds(((ulong)U32(value) << 32) | U32(value[4..])); break;
                case 4: received = U64(value); break;
                case 5: dropped = U64(value); break;
                case 6: accepted = U64(value); break;
                case 7: osDropped = U64(value); break;
                case 8: delivered = U64(value); break;
            }
        }

        if (options.Malformed)
        {
            Reject(CaptureErrorKind.MalformedOptions, at, "statistics block option runs past the end of the block");
            return;
        }

        iface.Statistics = new InterfaceStatistics(ts, start, end, received, dropped, accepted, osDropped, delivered, comment);
    }

    // ---- helpers -----------------------------------------------------------------------------

    /// <summary>Strict: throw. Lenient: count the bad record/block and carry on.</summary>
    private void Reject(CaptureErrorKind kind, long offset, string reason)
    {
        if (_inFileHeader && kind == CaptureErrorKind.TruncatedBlock)
        {
            kind = CaptureErrorKind.TruncatedFileHeader;
        }

        if (!_lenient || _inFileHeader)
        {
            throw new CaptureFormatException(kind, offset, reason);
        }

        Counters.CountSkip(kind, $"offset {offset}: {reason}");
    }

    private void Stop(CaptureErrorKind kind, long offset, string reason)
    {
        Reject(kind, offset, reason);
        _done = true;
    }

    private static ReadOnlySpan<byte> Body(ReadOnlySpan<byte> block) => block[8..^4];

    private static string Utf8(ReadOnlySpan<byte> value)
    {
        // Strings in options may or may not be NUL-terminated; drop trailing NULs.
        int end = value.Length;
        while (end > 0 && value[end - 1] == 0)
        {
            end--;
        }

        return Encoding.UTF8.GetString(value[..end]);
    }

    private ushort U16(ReadOnlySpan<byte> s) =>
        _big ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);

    private uint U32(ReadOnlySpan<byte> s) =>
        _big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

    private static uint U32(ReadOnlySpan<byte> s, bool big) =>
        big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

    private ulong U64(ReadOnlySpan<byte> s) =>
        _big ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);
}
