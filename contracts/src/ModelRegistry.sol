// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ModelRegistry
/// @notice Providers register a model commitment with the verifier contract that checks its
///         proofs, a per-request fee and the instance layout (public inputs, then outputs).
/// @dev Entries are unique per (owner, commitment), not per commitment. A registry that gave a
///      commitment to whoever registered it first could be squatted: an attacker front-runs a
///      provider's register(C, ...) with an always-yes verifier and owns C forever. Here anyone
///      may register any commitment, but only under their own address; a client picks the entry
///      whose verifier code it has checked (see modelsOf) and is never bound to the first one.
///
///      The commitment, verifier and layout are immutable once registered: an escrowed request
///      must be judged by the rules in force when the client paid. Only fee, active and owner
///      change.
contract ModelRegistry {
    struct Model {
        address owner;
        address verifier;
        uint256 fee;
        bytes32 commitment;
        uint32 nInputs;
        uint32 nOutputs;
        bool active;
    }

    /// @notice Most ids `modelsOf` returns per call, so a page always fits in an eth_call.
    uint256 public constant MAX_PAGE = 100;

    error ZeroVerifier();
    error VerifierHasNoCode(address verifier);
    error ZeroInputs();
    error ZeroOutputs();
    error DuplicateModel(address owner, bytes32 commitment, uint256 modelId);
    error UnknownModel(uint256 modelId);
    error NotOwner(address caller, address owner);
    error NotPendingOwner(address caller, address pending);

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        bytes32 indexed commitment,
        address verifier,
        uint256 fee,
        uint32 nInputs,
        uint32 nOutputs
    );
    event FeeChanged(uint256 indexed modelId, uint256 fee);
    event ActiveChanged(uint256 indexed modelId, bool active);
    event OwnershipTransferStarted(
        uint256 indexed modelId, address indexed from, address indexed to
    );
    event OwnershipTransferred(
        uint256 indexed modelId, address indexed from, address indexed to
    );

    /// @notice Number of registered models; ids run from 1 to modelCount (0 means "none").
    uint256 public modelCount;
    mapping(uint256 => Model) private _models;
    mapping(address => mapping(bytes32 => uint256)) private _idOf;
    mapping(bytes32 => uint256[]) private _byCommitment;
    mapping(uint256 => address) private _pendingOwner;

    /// @notice Register `commitment` under msg.sender; returns the new sequential id.
    /// @dev Same owner + same commitment twice reverts DuplicateModel: one owner has one entry
    ///      per commitment, so `modelIdOf(owner, commitment)` is unambiguous.
    function register(
        bytes32 commitment,
        address verifier,
        uint256 fee,
        uint32 nInputs,
        uint32 nOutputs
    ) external returns (uint256 modelId) {
        if (verifier == address(0)) revert ZeroVerifier();
        // An account without code "succeeds" on every call with empty return data; the escrow
        // would reject that as InvalidProof, but refusing it here surfaces the mistake early.
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        // The layout is part of what the verifier checks: the escrow requires exactly
        // nInputs + nOutputs instances, so a provider cannot pass inputs off as outputs.
        if (nInputs == 0) revert ZeroInputs();
        if (nOutputs == 0) revert ZeroOutputs();
        uint256 existing = _idOf[msg.sender][commitment];
        if (existing != 0) revert DuplicateModel(msg.sender, commitment, existing);
        modelId = ++modelCount;
        _models[modelId] = Model(msg.sender, verifier, fee, commitment, nInputs, nOutputs, true);
        _idOf[msg.sender][commitment] = modelId;
        _byCommitment[commitment].push(modelId);
        emit ModelRegistered(modelId, msg.sender, commitment, verifier, fee, nInputs, nOutputs);
    }

    function setFee(uint256 modelId, uint256 fee) external {
        _ownedModel(modelId).fee = fee;
        emit FeeChanged(modelId, fee);
    }

    function setActive(uint256 modelId, bool active) external {
        _ownedModel(modelId).active = active;
        emit ActiveChanged(modelId, active);
    }

    /// @notice Offer the model to `newOwner`, who must call acceptOwnership; address(0) cancels.
    /// @dev Two steps so a typo cannot hand the fee stream (and setFee/setActive) to an address
    ///      nobody controls. Open escrow requests keep the provider snapshotted at request time:
    ///      they settle with that provider or refund at the timeout; new requests go to the
    ///      new owner once accepted.
    function transferOwnership(uint256 modelId, address newOwner) external {
        Model storage m = _ownedModel(modelId);
        _pendingOwner[modelId] = newOwner;
        emit OwnershipTransferStarted(modelId, m.owner, newOwner);
    }

    /// @notice Take over a model offered with transferOwnership (pending owner only).
    /// @dev Reverts DuplicateModel if the new owner already has an entry for the commitment:
    ///      the (owner, commitment) index must stay one-to-one.
    function acceptOwnership(uint256 modelId) external {
        Model storage m = _existing(modelId);
        address pending = _pendingOwner[modelId];
        // msg.sender is never address(0), so this also rejects "no transfer pending".
        if (msg.sender != pending) revert NotPendingOwner(msg.sender, pending);
        bytes32 c = m.commitment;
        uint256 clash = _idOf[pending][c];
        if (clash != 0) revert DuplicateModel(pending, c, clash);
        address from = m.owner;
        delete _idOf[from][c];
        _idOf[pending][c] = modelId;
        m.owner = pending;
        delete _pendingOwner[modelId];
        emit OwnershipTransferred(modelId, from, pending);
    }

    /// @notice Address offered the model by transferOwnership; address(0) when none.
    function pendingOwnerOf(uint256 modelId) external view returns (address) {
        _existing(modelId);
        return _pendingOwner[modelId];
    }

    /// @notice Id of `owner`'s entry for `commitment`, 0 when none.
    function modelIdOf(address owner, bytes32 commitment) external view returns (uint256) {
        return _idOf[owner][commitment];
    }

    /// @notice How many entries (any owner, active or not) were registered for `commitment`.
    function modelCountOf(bytes32 commitment) external view returns (uint256) {
        return _byCommitment[commitment].length;
    }

    /// @notice Ids of entries for `commitment`, in registration order, from index `start`.
    /// @dev `count` is clipped to MAX_PAGE and to what exists, so the loop is bounded and a
    ///      page past the end is simply empty. Anyone can add entries for any commitment
    ///      (squatters included): callers must check each entry's verifier code themselves.
    function modelsOf(bytes32 commitment, uint256 start, uint256 count)
        external
        view
        returns (uint256[] memory ids)
    {
        uint256[] storage entries = _byCommitment[commitment];
        uint256 len = entries.length;
        if (start >= len) return new uint256[](0);
        if (count > MAX_PAGE) count = MAX_PAGE;
        if (count > len - start) count = len - start;
        ids = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            ids[i] = entries[start + i];
        }
    }

    function getModel(uint256 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    function ownerOf(uint256 modelId) external view returns (address) {
        return _existing(modelId).owner;
    }

    function verifierOf(uint256 modelId) external view returns (address) {
        return _existing(modelId).verifier;
    }

    function feeOf(uint256 modelId) external view returns (uint256) {
        return _existing(modelId).fee;
    }

    function isActive(uint256 modelId) external view returns (bool) {
        return _existing(modelId).active;
    }

    /// @notice Instance layout the verifier checks: nInputs input instances, then nOutputs.
    function layoutOf(uint256 modelId) external view returns (uint32 nInputs, uint32 nOutputs) {
        Model storage m = _existing(modelId);
        return (m.nInputs, m.nOutputs);
    }

    function _existing(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }

    function _ownedModel(uint256 modelId) private view returns (Model storage m) {
        m = _existing(modelId);
        if (m.owner != msg.sender) revert NotOwner(msg.sender, m.owner);
    }
}
