// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOptimisticRegistry} from "./IOptimisticRegistry.sol";
import {Merkle} from "./Merkle.sol";

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
///      change. The same holds for a model's mode, minimum bond and program (docs/optimistic.md
///      "Models"): a claim is bonded and disputed under the terms the client requested under.
contract ModelRegistry is IOptimisticRegistry {
    /// How a model's results become final: a zk proof with every result (Zk), a bonded claim
    /// that a DisputeGame can overturn (Optimistic), or a bonded claim that a zk proof settles
    /// only when challenged (OnDemand).
    enum Mode {
        Zk,
        Optimistic,
        OnDemand
    }

    struct Model {
        address owner;
        address verifier;
        uint256 fee;
        bytes32 commitment;
        uint32 nInputs;
        uint32 nOutputs;
        bool active;
    }

    /// What an optimistic model registers besides its header: the program root (SPEC §8), the
    /// hash of its start data and the output tensor's shape as rows × width.
    struct OptimisticSpec {
        bytes32 programRoot;
        bytes32 startHash;
        uint32 outputRows;
        uint32 outputWidth;
    }

    /// @dev One word per model: mode and bond are read together.
    struct Terms {
        Mode mode;
        uint96 minBond;
    }

    /// @notice Most ids `modelsOf` returns per call, so a page always fits in an eth_call.
    uint256 public constant MAX_PAGE = 100;
    /// @notice Largest request input (Σ rows·width·4 bytes) an optimistic model may take. The
    ///         escrow hashes the input on-chain and emits it, so a model beyond the limit would
    ///         only accept requests that cannot be made; it is refused at registration.
    uint256 public constant MAX_INPUT_BYTES = 16384;
    /// @notice The program-header layout (SPEC version) the one-step verifier implements.
    uint256 public constant SPEC_VERSION = 3;
    uint8 internal constant HEADER_PREFIX = 0x04;

    error ZeroVerifier();
    error VerifierHasNoCode(address verifier);
    error ZeroInputs();
    error ZeroOutputs();
    error DuplicateModel(address owner, bytes32 commitment, uint256 modelId);
    error UnknownModel(uint256 modelId);
    error NotOwner(address caller, address owner);
    error NotPendingOwner(address caller, address pending);
    error ZeroBond();
    error BondTooLarge(uint256 minBond);
    /// The header is not a 0x04 message, or a count in it does not fit its on-chain field.
    error BadHeader();
    error UnsupportedVersion(uint256 version);
    /// The header proof is not as long as a program tree over nSteps + 1 leaves is deep.
    error WrongHeaderDepth(uint256 got, uint256 want);
    error ZeroSteps();
    error BadOutputSlot(uint256 outputSlot, uint256 nSlots);
    error BadOutputShape(uint256 rows, uint256 width);
    /// Input `index` has no values (a zero dimension): no request could carry it.
    error EmptyInput(uint256 index);
    error InputTooLarge(uint256 bytes_, uint256 max);

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        bytes32 indexed commitment,
        address verifier,
        uint256 fee,
        uint32 nInputs,
        uint32 nOutputs
    );
    event OptimisticRegistered(
        uint256 indexed modelId, bytes32 programRoot, bytes32 startHash, uint256 minBond
    );
    event OnDemandRegistered(uint256 indexed modelId, uint256 minBond);
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
    mapping(uint256 => Terms) private _terms;
    mapping(uint256 => Program) private _programs;
    mapping(uint256 => uint32[]) private _inputRows;
    mapping(uint256 => uint32[]) private _inputWidths;

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
        _checkZk(verifier, nInputs, nOutputs);
        return _add(commitment, verifier, fee, nInputs, nOutputs);
    }

    /// @notice Register a zk model whose proof is made only when a claim on it is challenged.
    /// @dev Same checks as `register`; the bond must be positive, since an unbonded claim could
    ///      be wrong at no cost to its provider.
    function registerOnDemand(
        bytes32 commitment,
        address verifier,
        uint256 fee,
        uint32 nInputs,
        uint32 nOutputs,
        uint256 minBond
    ) external returns (uint256 modelId) {
        _checkZk(verifier, nInputs, nOutputs);
        modelId = _add(commitment, verifier, fee, nInputs, nOutputs);
        _terms[modelId] = Terms(Mode.OnDemand, _bond(minBond));
        emit OnDemandRegistered(modelId, minBond);
    }

    /// @notice Register an optimistic model: results are bonded claims a DisputeGame decides.
    /// @dev The header (leaf 0 of `spec.programRoot`, SPEC §8) is opened here and the slot
    ///      layout is read from it, so the step range and slots a game plays over are the ones
    ///      the program commits to; a provider cannot register counts of its own choosing.
    function registerOptimistic(
        bytes32 commitment,
        uint256 fee,
        uint256 minBond,
        OptimisticSpec calldata spec,
        bytes calldata header,
        bytes32[] calldata headerProof
    ) external returns (uint256 modelId) {
        if (spec.outputRows == 0 || spec.outputWidth == 0) revert ZeroOutputs();
        uint256 nOutputs = uint256(spec.outputRows) * spec.outputWidth;
        if (nOutputs > type(uint32).max) revert BadOutputShape(spec.outputRows, spec.outputWidth);
        Program memory p = _openHeader(spec, header, headerProof);
        modelId = _add(commitment, address(0), fee, p.nInputs, uint32(nOutputs));
        _terms[modelId] = Terms(Mode.Optimistic, _bond(minBond));
        _programs[modelId] = p;
        _storeShapes(modelId, p.nInputs, header);
        emit OptimisticRegistered(modelId, spec.programRoot, spec.startHash, minBond);
    }

    function _checkZk(address verifier, uint32 nInputs, uint32 nOutputs) private view {
        if (verifier == address(0)) revert ZeroVerifier();
        // An account without code "succeeds" on every call with empty return data; the escrow
        // would reject that as InvalidProof, but refusing it here surfaces the mistake early.
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        // The layout is part of what the verifier checks: the escrow requires exactly
        // nInputs + nOutputs instances, so a provider cannot pass inputs off as outputs.
        if (nInputs == 0) revert ZeroInputs();
        if (nOutputs == 0) revert ZeroOutputs();
    }

    function _add(
        bytes32 commitment,
        address verifier,
        uint256 fee,
        uint32 nInputs,
        uint32 nOutputs
    ) private returns (uint256 modelId) {
        uint256 existing = _idOf[msg.sender][commitment];
        if (existing != 0) revert DuplicateModel(msg.sender, commitment, existing);
        modelId = ++modelCount;
        _models[modelId] = Model(msg.sender, verifier, fee, commitment, nInputs, nOutputs, true);
        _idOf[msg.sender][commitment] = modelId;
        _byCommitment[commitment].push(modelId);
        emit ModelRegistered(modelId, msg.sender, commitment, verifier, fee, nInputs, nOutputs);
    }

    function _bond(uint256 minBond) private pure returns (uint96) {
        if (minBond == 0) revert ZeroBond();
        if (minBond > type(uint96).max) revert BondTooLarge(minBond);
        return uint96(minBond);
    }

    /// The header's counts, checked: proof to leaf 0, spec version, proof depth, output slot.
    /// @dev The proof's length is checked against the nSteps it proves: a shorter or longer
    ///      tree would let a game open step leaves the header does not count.
    function _openHeader(
        OptimisticSpec calldata spec,
        bytes calldata header,
        bytes32[] calldata headerProof
    ) private pure returns (Program memory p) {
        if (header.length < 1 + 12 * 32 || uint8(header[0]) != HEADER_PREFIX) revert BadHeader();
        Merkle.verify(spec.programRoot, keccak256(header), 0, headerProof);
        (uint256 version,, uint256 nIn, uint256 nW, uint256 nSteps, uint256 outSlot) =
            abi.decode(header[1:], (uint256, int256[], uint256, uint256, uint256, uint256));
        if (version != SPEC_VERSION) revert UnsupportedVersion(version);
        if (nIn > type(uint32).max || nW > type(uint32).max || nSteps > type(uint32).max) {
            revert BadHeader();
        }
        if (nIn == 0) revert ZeroInputs();
        if (nSteps == 0) revert ZeroSteps();
        uint256 want = Merkle.depthFor(nSteps + 1);
        if (headerProof.length != want) revert WrongHeaderDepth(headerProof.length, want);
        uint256 nSlots = nIn + nW + nSteps;
        if (outSlot >= nSlots) revert BadOutputSlot(outSlot, nSlots);
        p = Program(
            spec.programRoot,
            spec.startHash,
            uint32(nIn),
            uint32(nW),
            uint32(nSteps),
            uint32(outSlot),
            spec.outputRows,
            spec.outputWidth
        );
    }

    /// Rows (product of all but the last axis, 1 for ≤ 1-d) and width (last axis, 1 for 0-d)
    /// of each input, from the header's inputShapes; refuses a model whose input would exceed
    /// MAX_INPUT_BYTES, so every registered model can be requested.
    function _storeShapes(uint256 modelId, uint256 nInputs, bytes calldata header) private {
        (,,,,,, uint256[][] memory shapes) = abi.decode(
            header[1:], (uint256, int256[], uint256, uint256, uint256, uint256, uint256[][])
        );
        if (shapes.length != nInputs) revert BadHeader();
        uint256 total;
        for (uint256 k; k < shapes.length; ++k) {
            (uint256 rows, uint256 width) = _rowsWidth(shapes[k]);
            if (rows * width == 0) revert EmptyInput(k);
            total += rows * width * 4;
            if (total > MAX_INPUT_BYTES) revert InputTooLarge(total, MAX_INPUT_BYTES);
            _inputRows[modelId].push(uint32(rows));
            _inputWidths[modelId].push(uint32(width));
        }
    }

    /// @dev Each factor is capped at MAX_INPUT_BYTES before multiplying, so no product of
    ///      header-chosen dimensions can overflow (a tensor past the cap is refused anyway).
    function _rowsWidth(uint256[] memory shape) private pure returns (uint256 rows, uint256 w) {
        uint256 n = shape.length;
        rows = 1;
        w = n == 0 ? 1 : shape[n - 1];
        if (w > MAX_INPUT_BYTES) revert InputTooLarge(w, MAX_INPUT_BYTES);
        for (uint256 a; a + 1 < n; ++a) {
            if (shape[a] > MAX_INPUT_BYTES) revert InputTooLarge(shape[a], MAX_INPUT_BYTES);
            rows *= shape[a];
            if (rows > MAX_INPUT_BYTES) revert InputTooLarge(rows, MAX_INPUT_BYTES);
        }
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

    /// @notice How results of `modelId` become final (Zk for a model registered with register).
    function modeOf(uint256 modelId) external view returns (Mode) {
        _existing(modelId);
        return _terms[modelId].mode;
    }

    /// @notice Least bond a claim (or an on-demand challenge) on `modelId` must carry; 0 for Zk.
    function minBondOf(uint256 modelId) external view override returns (uint256) {
        _existing(modelId);
        return _terms[modelId].minBond;
    }

    /// @notice The program of an optimistic model (all zero for other modes). The counts and
    ///         the output slot come from the opened header, never from the registrant.
    function programOf(uint256 modelId) external view override returns (Program memory) {
        _existing(modelId);
        return _programs[modelId];
    }

    /// @notice What a claim on an optimistic model is checked against: its minimum bond, slot
    ///         count, output slot and output shape (all zero for an unknown or other model).
    /// @dev Two storage words and no existence check: the escrow calls it on every claim, for
    ///      a model that existed when the request was made (models are never deleted).
    function outputSpecOf(uint256 modelId)
        external
        view
        returns (uint256 minBond, uint256 nSlots, uint256 slot, uint256 rows, uint256 width)
    {
        Program storage p = _programs[modelId];
        nSlots = uint256(p.nInputs) + p.nWeights + p.nSteps;
        return (_terms[modelId].minBond, nSlots, p.outputSlot, p.outputRows, p.outputWidth);
    }

    /// @notice Rows and width of each input tensor of an optimistic model, in slot order.
    function inputShapeOf(uint256 modelId)
        external
        view
        returns (uint32[] memory rows, uint32[] memory widths)
    {
        _existing(modelId);
        return (_inputRows[modelId], _inputWidths[modelId]);
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
