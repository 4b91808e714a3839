using System.Net;
using TcpKit.Net.Links;
using TcpKit.Wire;

namespace TcpKit.Net.Simulation;

/// <summary>
/// A host's network interface on a <see cref="SimulatedNetwork"/>: the <see cref="ILink"/> its stack
/// uses. Packets are raw IP. The receiver is called from inside the network's Step/Run* on the
/// simulation thread, with the arrival time in virtual time.
/// </summary>
public sealed class SimulatedNic : ILink, IPacketSink
{
    private readonly List<IPAddress> _addresses = [];
    private readonly List<IpAddressKey> _addressKeys = [];
    private ILinkReceiver? _receiver;
    private SimulatedChannel? _egress;

    internal SimulatedNic(SimulatedNetwork network, string name, int mtu)
    {
        Network = network;
        Name = name;
        Mtu = mtu;
    }

    public SimulatedNetwork Network { get; }

    public string Name { get; }

    public int Mtu { get; }

    public LinkType LinkType => LinkType.Raw;

    /// <summary>Addresses registered for switch forwarding.</summary>
    public IReadOnlyList<IPAddress> Addresses => _addresses;

    /// <summary>The direction this host sends on, once connected.</summary>
    public SimulatedChannel? Egress => _egress;

    /// <summary>The direction this host receives on, once connected.</summary>
    public SimulatedChannel? Ingress { get; private set; }

    /// <summary>The switch port this host is attached to, if any.</summary>
    public SwitchPort? SwitchPort { get; private set; }

    /// <summary>Packets larger than <see cref="Mtu"/> that the host tried to send.</summary>
    public long DroppedOversized { get; private set; }

    /// <summary>Packets sent before the NIC was connected to anything.</summary>
    public long DroppedNotConnected { get; private set; }

    public bool IsConnected => _egress is not null;

    /// <summary>
    /// Registers an address (4 or 16 bytes, network order) so a switch forwards packets for it here.
    /// A point-to-point link delivers everything regardless of addresses.
    /// </summary>
    public void AddAddress(ReadOnlySpan<byte> address)
    {
        IpAddressKey key = IpAddressKey.FromBytes(address);
        if (_addressKeys.Contains(key))
        {
            return;
        }

        SwitchPort?.Switch.Register(key, SwitchPort);
        _addressKeys.Add(key);
        _addresses.Add(new IPAddress(address));
    }

    public void AddAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        AddAddress(bytes[..written]);
    }

    internal IReadOnlyList<IpAddressKey> AddressKeys => _addressKeys;

    public void Send(ReadOnlySpan<byte> ipPacket)
    {
        if (ipPacket.Length > Mtu)
        {
            DroppedOversized++;
            return;
        }

        if (_egress is null)
        {
            DroppedNotConnected++;
            return;
        }

        _egress.Offer(ipPacket, owned: null);
    }

    public void SetReceiver(ILinkReceiver? receiver) => _receiver = receiver;

    bool IPacketSink.Accept(SimulatedChannel from, byte[] buffer, int length)
    {
        if (_receiver is null)
        {
            from.Drop(DropReason.NoReceiver, buffer.AsSpan(0, length), buffer);
            return false;
        }

        try
        {
            _receiver.OnPacket(buffer.AsSpan(0, length), Network.Now);
            return true;
        }
        finally
        {
            Network.Buffers.Return(buffer);
        }
    }

    internal void EnsureUnattached()
    {
        if (_egress is not null)
        {
            throw new InvalidOperationException($"Host {Name} is already connected; a simulated host has one interface.");
        }
    }

    internal void Attach(SimulatedChannel egress, SimulatedChannel ingress, SwitchPort? port)
    {
        _egress = egress;
        Ingress = ingress;
        SwitchPort = port;
    }

    public override string ToString() => Name;
}
