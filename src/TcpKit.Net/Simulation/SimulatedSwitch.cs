namespace TcpKit.Net.Simulation;

/// <summary>
/// A store-and-forward switch (really a one-hop router): each attached host has an uplink channel
/// into the switch and a downlink channel out of it. An arriving packet is forwarded, at its arrival
/// instant, onto the downlink of the host that registered its destination IP address; the downlink's
/// bandwidth and queue model the egress port, so several senders converging on one host contend
/// there. A packet for an unknown destination is dropped and counted as no route on its uplink.
/// </summary>
public sealed class SimulatedSwitch : IPacketSink
{
    private readonly SimulatedNetwork _network;
    private readonly List<SwitchPort> _ports = [];
    private readonly Dictionary<IpAddressKey, SwitchPort> _routes = [];

    internal SimulatedSwitch(SimulatedNetwork network, string name)
    {
        _network = network;
        Name = name;
    }

    public string Name { get; }

    public IReadOnlyList<SwitchPort> Ports => _ports;

    /// <summary>Packets dropped for an unknown or unreadable destination, over all ports.</summary>
    public long DroppedNoRoute { get; private set; }

    /// <summary>Attaches a host; its registered addresses (now and later) route to it.</summary>
    public SwitchPort Attach(SimulatedNic nic, LinkProfile toSwitch, LinkProfile fromSwitch)
    {
        _network.CheckOwned(nic);
        nic.EnsureUnattached();
        foreach (IpAddressKey key in nic.AddressKeys)
        {
            CheckFree(key);
        }

        var uplink = new SimulatedChannel(_network, $"{nic.Name}->{Name}", toSwitch, this);
        var downlink = new SimulatedChannel(_network, $"{Name}->{nic.Name}", fromSwitch, nic);
        var port = new SwitchPort(this, nic, uplink, downlink);
        foreach (IpAddressKey key in nic.AddressKeys)
        {
            _routes.Add(key, port);
        }

        nic.Attach(egress: uplink, ingress: downlink, port);
        _ports.Add(port);
        return port;
    }

    /// <summary>Attaches a host with the same impairments towards and from the switch.</summary>
    public SwitchPort Attach(SimulatedNic nic, LinkProfile both) => Attach(nic, both, both);

    internal void Register(IpAddressKey key, SwitchPort port)
    {
        CheckFree(key);
        _routes.Add(key, port);
    }

    private void CheckFree(IpAddressKey key)
    {
        if (_routes.TryGetValue(key, out SwitchPort? owner))
        {
            throw new InvalidOperationException($"Switch {Name}: the address is already registered by host {owner.Nic.Name}.");
        }
    }

    bool IPacketSink.Accept(SimulatedChannel from, byte[] buffer, int length)
    {
        ReadOnlySpan<byte> packet = buffer.AsSpan(0, length);
        if (!IpAddressKey.TryReadDestination(packet, out IpAddressKey destination) ||
            !_routes.TryGetValue(destination, out SwitchPort? port))
        {
            DroppedNoRoute++;
            from.Drop(DropReason.NoRoute, packet, buffer);
            return false;
        }

        // Forward the same pooled buffer: the downlink now owns it.
        port.Downlink.Offer(packet, buffer);
        return true;
    }

    public override string ToString() => Name;
}

/// <summary>A host's attachment to a <see cref="SimulatedSwitch"/>.</summary>
public sealed class SwitchPort
{
    internal SwitchPort(SimulatedSwitch sw, SimulatedNic nic, SimulatedChannel uplink, SimulatedChannel downlink)
    {
        Switch = sw;
        Nic = nic;
        Uplink = uplink;
        Downlink = downlink;
    }

    public SimulatedSwitch Switch { get; }

    public SimulatedNic Nic { get; }

    /// <summary>Host to switch.</summary>
    public SimulatedChannel Uplink { get; }

    /// <summary>Switch to host.</summary>
    public SimulatedChannel Downlink { get; }
}
